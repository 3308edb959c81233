// Who a root `npm run up` runs the api, the transcoders and its Redis as (dev/service-account.ts): never
// uid 0, an unknown TRANSCODER_USER refused by name, nothing switched when not root; and the folders
// they write made theirs: a missing one created for them, one of the stack's own under ./var handed over
// with what a root run left in it, anyone else's refused with the command that fixes it. The folder
// checks chown, so they run as root (as the tests do here and in CI).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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

  test("root: unset, videoflix, or nobody where it is missing and the edge's workers are someone else", () => {
    const videoflix = systemAccount(DEFAULT_SERVICE_USER);
    if (videoflix) {
      const choice = chooseServiceAccount(undefined, 0);
      expect(choice.account?.user).toBe(DEFAULT_SERVICE_USER);
      expect(choice.account?.uid).not.toBe(0);
      expect(chooseServiceAccount("nobody", 0, DEFAULT_SERVICE_USER).account).toEqual(
        systemAccount("nobody")!,
      );
    } else {
      // The fallback is nobody, which the edge's workers are by default.
      expect(() => chooseServiceAccount(undefined, 0)).toThrow(
        `TRANSCODER_USER "nobody" (no videoflix account: npm run up creates it) is also the edge's workers' account`,
      );
    }
  });

  test("root: the account of the edge's workers (EDGE_USER, default nobody) is refused, by name", () => {
    expect(() => chooseServiceAccount("nobody", 0)).toThrow(
      `TRANSCODER_USER "nobody" is also the edge's workers' account (EDGE_USER "nobody", uid ${systemAccount("nobody")!.uid})`,
    );
    expect(() => chooseServiceAccount("nobody", 0, " nobody ")).toThrow("must not share it with them");
    if (systemAccount(DEFAULT_SERVICE_USER)) {
      expect(() => chooseServiceAccount(DEFAULT_SERVICE_USER, 0, DEFAULT_SERVICE_USER)).toThrow(
        `EDGE_USER "${DEFAULT_SERVICE_USER}"`,
      );
    }
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

  test("the hand-over follows no link, leaves multiply linked files and other owners' alone", () => {
    const redis = join(repo, "var/redis");
    const outside = join(repo, "outside");
    mkdirSync(join(outside, "dir"), { recursive: true });
    for (const name of ["linked", "hard", "dir/inner"]) writeFileSync(join(outside, name), "root's");
    mkdirSync(redis, { recursive: true });
    symlinkSync(join(outside, "linked"), join(redis, "file-link"));
    symlinkSync(join(outside, "dir"), join(redis, "dir-link"));
    linkSync(join(outside, "hard"), join(redis, "hard"));
    writeFileSync(join(redis, "someone-elses"), "theirs");
    chownSync(join(redis, "someone-elses"), 12345, 12345);
    writeFileSync(join(redis, "dump.rdb"), "root's");
    provideFolders(account, repo, [{ path: "var/redis", what: "Redis", private: true }]);
    // What root left there is the account's, the links themselves included…
    for (const path of [redis, join(redis, "dump.rdb"), join(redis, "file-link"), join(redis, "dir-link")]) {
      expect({ path, uid: lstatSync(path).uid }).toEqual({ path, uid: account.uid });
    }
    // …but nothing they lead to, no file also named elsewhere, nobody else's file.
    for (const path of ["linked", "hard", "dir", "dir/inner"].map((name) => join(outside, name))) {
      expect({ path, uid: statSync(path).uid }).toEqual({ path, uid: 0 });
    }
    expect(statSync(join(redis, "hard")).uid).toBe(0);
    expect(statSync(join(redis, "someone-elses")).uid).toBe(12345);
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
