import { Button, Text } from "@react-email/components";
import { EmailLayout, LinkFallback, styles } from "./layout.tsx";

export interface ActivationEmailProps {
  /** Absolute activation URL (contains a secret token). */
  link: string;
}

export function ActivationEmail({ link }: ActivationEmailProps) {
  return (
    <EmailLayout
      preview="Activate your Videoflix account"
      heading="Welcome to Videoflix!"
      footer="If you didn't create a Videoflix account, you can ignore this email."
    >
      <Text style={styles.text}>
        Thanks for signing up. Please confirm your email address to activate your account.
      </Text>
      <Button href={link} style={styles.button}>
        Activate account
      </Button>
      <Text style={styles.text}>This link is valid for 24 hours.</Text>
      <LinkFallback href={link} />
    </EmailLayout>
  );
}

export default ActivationEmail;
