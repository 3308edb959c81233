// bull-board's page as this service serves it: the package's own page without its Google Fonts
// stylesheet. The api makes no request to another origin at run time, and a render-blocking stylesheet
// from a host an offline or firewalled deployment cannot reach would hold the page blank until the
// browser gives up. The UI's CSS names a local fallback (sans-serif) after that font.

const FONT_LINK = /^\s*<link [^>]*href="https:\/\/fonts\.googleapis\.com\/[^"]*"[^>]*>\s*$/gm;

/** The package's page without links to another origin's stylesheets. */
export function offlineDashboardPage(html: string): string {
  return html.replace(FONT_LINK, "");
}

/**
 * The dashboard's answer as sent: its HTML page (the one answer the adapter renders from the package's
 * template) without the font link; its API's JSON and its static files pass as they are.
 */
export async function offlineDashboardResponse(response: unknown): Promise<Response | undefined> {
  if (!(response instanceof Response)) return undefined;
  if (!response.headers.get("content-type")?.startsWith("text/html")) return undefined;
  return new Response(offlineDashboardPage(await response.text()), {
    status: response.status,
    headers: response.headers,
  });
}
