// The links the account mails carry. Each client has its own pages for them (the course client's
// `activate.html?uid=&token=`, djoser's `/auth/activate/<uid>/<token>`, …), so the route that served
// the request hands the accounts service the builder of its client's links.
import type { Config } from "../config/load.ts";

/** One link of an account mail: a one-time link (`uid` is the Django-style uidb64), or a plain page. */
export type AccountLink =
  | { kind: "activation" | "password-reset"; uid: string; token: string }
  | { kind: "login" | "forgot-password" };

/** Turns a link of a mail into the absolute URL of the client's page for it. */
export type AccountLinks = (link: AccountLink) => string;

/** The course client's pages: FRONTEND_URL + ACTIVATION_PATH etc., one-time links with `?uid=&token=`. */
export function courseLinks(
  config: Pick<
    Config,
    "frontendUrl" | "activationPath" | "passwordResetPath" | "loginPath" | "forgotPasswordPath"
  >,
): AccountLinks {
  const { frontendUrl } = config;
  return (link) => {
    switch (link.kind) {
      case "activation":
      case "password-reset": {
        const path = link.kind === "activation" ? config.activationPath : config.passwordResetPath;
        return `${frontendUrl}${path}?${new URLSearchParams({ uid: link.uid, token: link.token })}`;
      }
      case "login":
        return `${frontendUrl}${config.loginPath}`;
      case "forgot-password":
        return `${frontendUrl}${config.forgotPasswordPath}`;
    }
  };
}
