/**
 * The origin this request was addressed to (scheme + Host, what Django's CSRF check compares): pages
 * served by the api itself send it, also where PUBLIC_URL names another address (a proxy, a random
 * test port). A foreign page's Origin equals the Host only when the browser addressed that foreign
 * site (DNS rebinding), and then it sends none of our cookies.
 */
export function ownOrigin(request: Request): string | undefined {
  try {
    return new URL(request.url).origin;
  } catch {
    return undefined;
  }
}
