// The successor of a rotated refresh token, kept so that the same token presented again within the
// grace window gets the same pair instead of a second one (parallel refreshes of two tabs, or of a
// client that fires several requests after its access token expired).
//
// Only hashes of refresh tokens are stored, so the successor cannot be looked up; deriving it from the
// presented token (an HMAC chain) would let anyone holding one old token compute every later one. It is
// therefore encrypted (AES-256-GCM) under a key derived from the presented token and a server secret:
// only a client that holds that very token can have it opened, the table alone (a backup, a dump)
// opens nothing, and once the window has passed the server never opens it again.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";

/** The pair a rotation handed out. */
export interface SuccessorPair {
  refreshToken: string;
  accessToken: string;
}

const INFO = "videoflix refresh successor v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class RefreshSuccessors {
  private readonly salt: Buffer;

  constructor(serverSecret: string) {
    // Its own key, derived: the JWT key itself never touches this cipher.
    this.salt = createHmac("sha256", serverSecret).update(INFO).digest();
  }

  seal(presented: string, pair: SuccessorPair): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.keyOf(presented), iv);
    const plain = Buffer.from(JSON.stringify([pair.refreshToken, pair.accessToken]));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
  }

  /** The pair sealed for `presented`, or null when the value does not open with it. */
  open(presented: string, sealedText: string): SuccessorPair | null {
    const sealed = Buffer.from(sealedText, "base64url");
    if (sealed.length <= IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.keyOf(presented), sealed.subarray(0, IV_BYTES));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      const [refreshToken, accessToken] = JSON.parse(plain.toString("utf8")) as unknown[];
      if (typeof refreshToken !== "string" || typeof accessToken !== "string") return null;
      return { refreshToken, accessToken };
    } catch {
      return null;
    }
  }

  private keyOf(presented: string): Buffer {
    return Buffer.from(hkdfSync("sha256", presented, this.salt, INFO, 32));
  }
}
