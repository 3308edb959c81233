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

export interface PasswordResetEmailProps {
  /** Absolute password reset URL (contains a secret token). */
  link: string;
}

export function PasswordResetEmail({ link }: PasswordResetEmailProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>Reset your Videoflix password</Preview>
      <Body style={body}>
        <Container style={container}>
          <Heading style={heading}>Reset your password</Heading>
          <Text style={text}>
            We received a request to reset the password of your Videoflix account. Click the button below to
            choose a new one.
          </Text>
          <Button href={link} style={button}>
            Reset password
          </Button>
          <Text style={text}>This link is valid for 1 hour.</Text>
          <Text style={muted}>
            If the button doesn't work, copy this link into your browser:{" "}
            <Link href={link} style={linkStyle}>
              {link}
            </Link>
          </Text>
          <Hr style={hr} />
          <Text style={muted}>
            If you didn't ask to reset your password, you can safely ignore this email. Your password will not
            change.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export default PasswordResetEmail;

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
const linkStyle: CSSProperties = { color: "#2e3edf", wordBreak: "break-all" };
const hr: CSSProperties = { borderColor: "#e4e4e7", margin: "24px 0" };
