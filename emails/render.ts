import { render } from "@react-email/render";
import { createElement, type ReactElement } from "react";
import { AccountExistsEmail } from "./templates/account-exists.tsx";
import { ActivationEmail } from "./templates/activation.tsx";
import { PasswordResetEmail } from "./templates/password-reset.tsx";

export type AccountEmail =
  | { kind: "activation"; to: string; link: string }
  | { kind: "password-reset"; to: string; link: string }
  | { kind: "account-exists"; to: string; loginLink: string; resetLink: string };

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

function template(email: AccountEmail): { subject: string; element: ReactElement } {
  switch (email.kind) {
    case "activation":
      return {
        subject: "Activate your Videoflix account",
        element: createElement(ActivationEmail, { link: email.link }),
      };
    case "password-reset":
      return {
        subject: "Reset your Videoflix password",
        element: createElement(PasswordResetEmail, { link: email.link }),
      };
    case "account-exists":
      return {
        subject: "Your Videoflix account",
        element: createElement(AccountExistsEmail, {
          loginLink: email.loginLink,
          resetLink: email.resetLink,
        }),
      };
  }
}

/** The links (with their secret tokens) an email carries. Handy for dev logging, never log them in production. */
export function accountEmailLinks(email: AccountEmail): string[] {
  return email.kind === "account-exists" ? [email.loginLink, email.resetLink] : [email.link];
}

export async function renderAccountEmail(email: AccountEmail): Promise<RenderedEmail> {
  const { subject, element } = template(email);
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  return { subject, html, text };
}
