// The frame every account email shares: the page and card styles, the heading, and the rule with the
// "you may ignore this" line at the bottom. Templates fill in only what they say.
import { Body, Container, Head, Heading, Hr, Html, Link, Preview, Text } from "@react-email/components";
import type { CSSProperties, ReactNode } from "react";

export interface EmailLayoutProps {
  /** The line an inbox shows beside the subject. */
  preview: string;
  heading: string;
  /** Small print under the rule: why the reader may safely ignore the email. */
  footer: string;
  children: ReactNode;
}

export function EmailLayout({ preview, heading, footer, children }: EmailLayoutProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={page}>
        <Container style={card}>
          <Heading style={headingStyle}>{heading}</Heading>
          {children}
          <Hr style={rule} />
          <Text style={styles.muted}>{footer}</Text>
        </Container>
      </Body>
    </Html>
  );
}

/** The raw URL under a button, for mail clients that do not render it (or strip its link). */
export function LinkFallback({ href }: { href: string }) {
  return (
    <Text style={styles.muted}>
      If the button doesn't work, copy this link into your browser:{" "}
      <Link href={href} style={styles.longLink}>
        {href}
      </Link>
    </Text>
  );
}

const page: CSSProperties = {
  backgroundColor: "#f4f4f5",
  fontFamily: "Helvetica, Arial, sans-serif",
  margin: 0,
  padding: "24px 0",
};
const card: CSSProperties = {
  backgroundColor: "#ffffff",
  borderRadius: "8px",
  maxWidth: "480px",
  padding: "32px",
};
const headingStyle: CSSProperties = { color: "#111111", fontSize: "24px", margin: "0 0 16px" };
const rule: CSSProperties = { borderColor: "#e4e4e7", margin: "24px 0" };
const link: CSSProperties = { color: "#2e3edf" };

/** What the templates' own paragraphs, buttons and links look like. */
export const styles = {
  text: { color: "#333333", fontSize: "16px", lineHeight: "24px" },
  muted: { color: "#71717a", fontSize: "13px", lineHeight: "20px" },
  button: {
    backgroundColor: "#2e3edf",
    borderRadius: "24px",
    color: "#ffffff",
    fontSize: "16px",
    fontWeight: 700,
    padding: "12px 24px",
    textDecoration: "none",
  },
  link,
  /** A URL with a long token in it: broken anywhere rather than widening the card on a phone. */
  longLink: { ...link, wordBreak: "break-all" },
} satisfies Record<string, CSSProperties>;
