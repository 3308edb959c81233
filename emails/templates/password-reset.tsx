import { Button, Text } from "@react-email/components";
import { EmailLayout, LinkFallback, styles } from "./layout.tsx";

export interface PasswordResetEmailProps {
  /** Absolute password reset URL (contains a secret token). */
  link: string;
}

export function PasswordResetEmail({ link }: PasswordResetEmailProps) {
  return (
    <EmailLayout
      preview="Reset your Videoflix password"
      heading="Reset your password"
      footer="If you didn't ask to reset your password, you can safely ignore this email. Your password will not change."
    >
      <Text style={styles.text}>
        We received a request to reset the password of your Videoflix account. Click the button below to
        choose a new one.
      </Text>
      <Button href={link} style={styles.button}>
        Reset password
      </Button>
      <Text style={styles.text}>This link is valid for 1 hour.</Text>
      <LinkFallback href={link} />
    </EmailLayout>
  );
}

export default PasswordResetEmail;
