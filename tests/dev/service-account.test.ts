// Who a root `npm run up` runs the api, the transcoders and its Redis as (dev/service-account.ts): never
// uid 0, an unknown TRANSCODER_USER refused by name, nothing switched when not root; and the folders
// they write made theirs: a missing one created for them, one of the stack's own under ./var handed over
// with what a root run left in it, anyone else's refused with the command that fixes it. The folder
// checks chown, so they run as root (as the tests do here and in CI).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  accountTempDir,
  chooseServiceAccount,
  DEFAULT_SERVICE_USER,
  provideFolders,
  type ServiceAccount,
} from "../../dev/service-account.ts";
import { systemAccount } from "../../infra/nginx/worker-user.ts";

const asRoot = process.getuid?.() === 0;

describe("chooseServiceAccount", () => {
  test("not root: no account switch, whatever TRANSCODER_USER says, and the summary says so", () => {
    const choice = chooseServiceAccount("videoflix", 1000);
    expect(choice.account).toBeNull();
    expect(choice.summary).toContain("not root, no account switch");
    expect(choice.summary).toContain("TRANSCODER_USER applies to a root start only");
  });

  test("root: an account with uid 0 is refused, by name", () => {
    expect(() => chooseServiceAccount("root", 0)).toThrow(
      'TRANSCODER_USER "root" has uid 0: the api and transcoders never run as root',
    );
  });

  test("root: a TRANSCODER_USER that does not exist is refused, not replaced", () => {
    expect(() => chooseServiceAccount("no-such-account-vf", 0)).toThrow(
      'TRANSCODER_USER "no-such-account-vf" is not an account on this machine',
    );
  });

  test("root: unset, videoflix, or nobody where it is missing, saying why", () => {
    const choice = chooseServiceAccount(undefined, 0);
    const videoflix = systemAccount(DEFAULT_SERVICE_USER);
    expect(choice.account?.user).toBe(videoflix ? DEFAULT_SERVICE_USER : "nobody");
    expect(choice.account?.uid).not.toBe(0);
    if (!videoflix) expect(choice.summary).toContain("no videoflix account: npm run up creates it");
    expect(chooseServiceAccount("nobody", 0).account).toEqual(systemAccount("nobody")!);
  });
});

describe.if(asRoot)("provideFolders (as root)", () => {
  let repo: string;
  let account: ServiceAccount;
  beforeAll(() => {
    // A repository of its own: the folders under its ./var are the stack's.
    repo = mkdtempSync(join(tmpdir(), "vf-service-account-"));
    chmodSync(repo, 0o755);
    account = chooseServiceAccount(undefined, 0).account!;
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  test("a missing folder is created for the account (private ones 0700); the folders above stay root's", () => {
    provideFolders(account, repo, [
      { path: "var/media", what: "MEDIA_ROOT", private: false },
      { path: "elsewhere/mail", what: "MAIL_DIR", private: true },
    ]);
    expect(statSync(join(repo, "var/media")).uid).toBe(account.uid);
    expect(statSync(join(repo, "var/media")).mode & 0o777).toBe(0o755);
    expect(statSync(join(repo, "elsewhere/mail")).uid).toBe(account.uid);
    expect(statSync(join(repo, "elsewhere/mail")).mode & 0o777).toBe(0o700);
    expect(statSync(join(repo, "var")).uid).toBe(0);
  });

  test("one of the stack's own folders is handed over with what a root run left in it", () => {
    const pglite = join(repo, "var/pglite");
    mkdirSync(join(pglite, "base"), { recursive: true });
    writeFileSync(join(pglite, "base/1"), "root's");
    provideFolders(account, repo, [{ path: "./var/pglite", what: "PGLITE_DIR", private: true }]);
    for (const path of [pglite, join(pglite, "base"), join(pglite, "base/1")]) {
      expect({ path, uid: statSync(path).uid }).toEqual({ path, uid: account.uid });
    }
  });

  test("an existing folder of someone else's outside ./var is refused with the command that fixes it", () => {
    const media = join(repo, "srv-media");
    mkdirSync(media);
    expect(() =>
      provideFolders(account, repo, [{ path: media, what: "MEDIA_ROOT", private: false }]),
    ).toThrow(
      `MEDIA_ROOT ${media} belongs to uid 0, but the api and transcoders run as ${account.user} (TRANSCODER_USER): chown -R ${account.user} ${media}`,
    );
    expect(statSync(media).uid).toBe(0);
  });

  test("a folder the account cannot reach is named", () => {
    const closed = join(repo, "closed");
    mkdirSync(closed, { mode: 0o700 });
    expect(() =>
      provideFolders(account, repo, [{ path: join(closed, "media"), what: "MEDIA_ROOT", private: false }]),
    ).toThrow(`${closed} is not searchable for it`);
  });

  test("its temporary folder is its own and private", () => {
    const dir = accountTempDir(account);
    try {
      expect(statSync(dir).uid).toBe(account.uid);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
