import { Button, Link, Text } from "@react-email/components";
import { EmailLayout, styles } from "./layout.tsx";

export interface AccountExistsEmailProps {
  /** Absolute URL of the login page. */
  loginLink: string;
  /** Absolute URL of the "forgot password" page. */
  resetLink: string;
}

export function AccountExistsEmail({ loginLink, resetLink }: AccountExistsEmailProps) {
  return (
    <EmailLayout
      preview="You already have a Videoflix account"
      heading="You already have an account"
      footer="If this wasn't you, you can ignore this email. Your account has not been changed."
    >
      <Text style={styles.text}>
        Someone just tried to register a new Videoflix account with this email address. You already have an
        account, so no new one was created.
      </Text>
      <Button href={loginLink} style={styles.button}>
        Log in
      </Button>
      <Text style={styles.text}>
        Forgot your password?{" "}
        <Link href={resetLink} style={styles.link}>
          Reset your password
        </Link>
      </Text>
    </EmailLayout>
  );
}

export default AccountExistsEmail;
