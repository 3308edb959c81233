import {
  Body,
  Button,
  Container,
  Head,
  Heading,
  Hr,
  Html,
  Link,
  Preview,
  Text,
} from "@react-email/components";
import type { CSSProperties } from "react";

export interface AccountExistsEmailProps {
  /** Absolute URL of the login page. */
  loginLink: string;
  /** Absolute URL of the "forgot password" page. */
  resetLink: string;
}

export function AccountExistsEmail({ loginLink, resetLink }: AccountExistsEmailProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>You already have a Videoflix account</Preview>
      <Body style={body}>
        <Container style={container}>
          <Heading style={heading}>You already have an account</Heading>
          <Text style={text}>
            Someone just tried to register a new Videoflix account with this email address. You already have
            an account, so no new one was created.
          </Text>
          <Button href={loginLink} style={button}>
            Log in
          </Button>
          <Text style={text}>
            Forgot your password?{" "}
            <Link href={resetLink} style={linkStyle}>
              Reset your password
            </Link>
          </Text>
          <Hr style={hr} />
          <Text style={muted}>
            If this wasn't you, you can ignore this email. Your account has not been changed.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export default AccountExistsEmail;

const body: CSSProperties = {
  backgroundColor: "#f4f4f5",
  fontFamily: "Helvetica, Arial, sans-serif",
  margin: 0,
  padding: "24px 0",
};
const container: CSSProperties = {
  backgroundColor: "#ffffff",
  borderRadius: "8px",
  maxWidth: "480px",
  padding: "32px",
};
const heading: CSSProperties = { color: "#111111", fontSize: "24px", margin: "0 0 16px" };
const text: CSSProperties = { color: "#333333", fontSize: "16px", lineHeight: "24px" };
const muted: CSSProperties = { color: "#71717a", fontSize: "13px", lineHeight: "20px" };
const button: CSSProperties = {
  backgroundColor: "#2e3edf",
  borderRadius: "24px",
  color: "#ffffff",
  fontSize: "16px",
  fontWeight: 700,
  padding: "12px 24px",
  textDecoration: "none",
};
const linkStyle: CSSProperties = { color: "#2e3edf" };
const hr: CSSProperties = { borderColor: "#e4e4e7", margin: "24px 0" };
