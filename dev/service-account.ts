// Who the api, the transcoders and the Redis of `npm run up` run as when it is started as root: one
// unprivileged account (TRANSCODER_USER; default videoflix, which infra/up.sh creates, else nobody), never
// root, as the images run them (uid 1000). One account for all three: the api and the transcoders share
// the media tree (the api writes uploads and deletes videos, the transcoders write staging and publish),
// and a Redis left to root would let anything on loopback write files as root (CONFIG SET dir). The
// edge's nginx workers (EDGE_USER, nobody) only read the media, which the usual umask 022 leaves readable;
// they must be another account, or a flaw in the internet-facing workers could write the media, the
// embedded database and the Redis files.
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  statSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadConfig } from "../api/config/load.ts";
import { loadStorageSettings } from "../config/storage.ts";
import { type SystemAccount, systemAccount, workerCannotReach } from "../infra/nginx/worker-user.ts";

export type ServiceAccount = SystemAccount;
export const DEFAULT_SERVICE_USER = "videoflix";
const FALLBACK_USER = "nobody";
/** Who the edge's workers run as without EDGE_USER (infra/nginx/edge.ts). */
const DEFAULT_EDGE_USER = "nobody";
/** The stack's own places under ./var: handed over whole, whatever an earlier root run left in them. */
const STACK_FOLDERS = ["media", "pglite", "mail", "redis", "seaweedfs"];

type Env = Record<string, string | undefined>;

export interface ServiceAccountChoice {
  /** null: the supervisor is not root, so every child runs as the supervisor's own user. */
  account: ServiceAccount | null;
  /** Who runs what, for the summary `npm run up` prints. */
  summary: string;
}

/**
 * The account of TRANSCODER_USER (`setting`) for a supervisor running as `uid`, never the edge workers'
 * (`edgeUser`, EDGE_USER); throws a readable refusal.
 */
export function chooseServiceAccount(
  setting: string | undefined,
  uid = process.getuid?.() ?? -1,
  edgeUser: string | undefined = undefined,
): ServiceAccountChoice {
  const named = setting?.trim() || null;
  if (uid !== 0) {
    const ignored = named ? "; TRANSCODER_USER applies to a root start only" : "";
    return { account: null, summary: `everything as ${nameOf(uid)}: not root, no account switch${ignored}` };
  }
  if (!(process.platform === "linux" && Bun.which("setpriv"))) {
    throw new Error("running the api and transcoders unprivileged needs setpriv (util-linux) on Linux");
  }
  let account = systemAccount(named ?? DEFAULT_SERVICE_USER);
  let fallback = "";
  if (!account) {
    if (named) throw new Error(`TRANSCODER_USER "${named}" is not an account on this machine`);
    account = systemAccount(FALLBACK_USER);
    if (!account) {
      throw new Error(
        `neither ${DEFAULT_SERVICE_USER} nor ${FALLBACK_USER} exists: npm run up creates ${DEFAULT_SERVICE_USER}, or set TRANSCODER_USER`,
      );
    }
    fallback = ` (no ${DEFAULT_SERVICE_USER} account: npm run up creates it)`;
  }
  if (account.uid === 0) {
    throw new Error(
      `TRANSCODER_USER "${account.user}" has uid 0: the api and transcoders never run as root; name an unprivileged account`,
    );
  }
  const edgeName = edgeUser?.trim() || DEFAULT_EDGE_USER;
  const edge = systemAccount(edgeName);
  if (edge && edge.uid === account.uid) {
    throw new Error(
      `TRANSCODER_USER "${account.user}"${fallback} is also the edge's workers' account (EDGE_USER "${edgeName}", uid ${edge.uid}): the api and transcoders must not share it with them; npm run up creates ${DEFAULT_SERVICE_USER}, or set TRANSCODER_USER (or EDGE_USER) to another unprivileged account`,
    );
  }
  return { account, summary: `${account.user} (uid ${account.uid})${fallback}` };
}

/** "alice (uid 1000)", or the uid alone where it has no name (a container's arbitrary uid). */
function nameOf(uid: number): string {
  try {
    return `${userInfo().username} (uid ${uid})`;
  } catch {
    return `uid ${uid}`;
  }
}

export interface ServiceFolder {
  path: string;
  /** The setting that names it, for messages. */
  what: string;
  /** Only the account may enter it (everything but the media, which the edge's workers read). */
  private: boolean;
}

/**
 * The folders the api and the transcoders write, as their own config loaders read `apiEnv` and
 * `transcoderEnvs`. A setting they would refuse yields nothing here: the child then exits naming it.
 */
export function serviceFolders(apiEnv: Env, transcoderEnvs: Env[]): ServiceFolder[] {
  const folders: ServiceFolder[] = [];
  const mediaRoot = (env: Env) => {
    try {
      const storage = loadStorageSettings(env);
      if (storage.kind === "local")
        folders.push({ path: storage.mediaRoot, what: "MEDIA_ROOT", private: false });
    } catch {}
  };
  try {
    const api = loadConfig(apiEnv);
    if (!api.databaseUrl) folders.push({ path: api.pgliteDir, what: "PGLITE_DIR", private: true });
    if (!api.smtpUrl) folders.push({ path: api.mailDir, what: "MAIL_DIR", private: true });
  } catch {}
  mediaRoot(apiEnv);
  for (const env of transcoderEnvs) {
    mediaRoot(env);
    // Unset, the scratch is under TMPDIR, which accountTempDir() gives the account.
    if (env.TRANSCODER_SCRATCH) {
      folders.push({ path: env.TRANSCODER_SCRATCH, what: "TRANSCODER_SCRATCH", private: true });
    }
  }
  return folders;
}

/**
 * Makes every folder writable by `account` before its processes start (paths relative to `root`, their
 * working directory). A missing folder is created for it; the folders above stay as they are (root's
 * ./var keeps the secrets and the tools root runs). One of the stack's own places (./var/media, pglite,
 * mail, redis) is handed over whole; any other existing folder is the operator's and must already belong
 * to the account.
 */
export function provideFolders(account: ServiceAccount, root: string, folders: ServiceFolder[]): void {
  const own = new Set(STACK_FOLDERS.map((name) => join(root, "var", name)));
  const done = new Set<string>();
  for (const folder of folders) {
    const dir = resolve(root, folder.path);
    if (done.has(dir)) continue;
    done.add(dir);
    // Before anything is made: a folder it could not enter is worth nothing to it.
    assertReachable(account, dirname(dir), `${folder.what} ${dir}`);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      chownSync(dir, account.uid, account.gid);
      if (folder.private) chmodSync(dir, 0o700);
    } else if (own.has(dir)) {
      // ./var/media may be a link to a bigger disk: what it points at is the stack's media all the same.
      handOver(realpathSync(dir), account);
    } else if (statSync(dir).uid !== account.uid) {
      throw new Error(
        `${folder.what} ${dir} belongs to uid ${statSync(dir).uid}, but the api and transcoders run as ${account.user} (TRANSCODER_USER): chown -R ${account.user} ${dir}`,
      );
    }
  }
}

/**
 * Gives `account` what a root run left under `dir` (uid 0), running as root: links are never followed
 * (lchown on the link itself), and a regular file with more than one hard link is left alone, since its
 * other names may lie outside the tree (a link to /etc/shadow planted there would be handed over).
 * What belongs to anyone else stays theirs.
 */
function handOver(dir: string, account: ServiceAccount): void {
  const info = lstatSync(dir);
  if (info.isFile() && info.nlink > 1) return;
  if (info.uid === 0) lchownSync(dir, account.uid, account.gid);
  if (info.isDirectory()) for (const name of readdirSync(dir)) handOver(join(dir, name), account);
}

/** Throws naming the first folder on the way to `path` (for `what`) that `account` may not enter. */
export function assertReachable(account: ServiceAccount, path: string, what: string): void {
  const blocked = workerCannotReach(path, account);
  if (blocked) {
    throw new Error(
      `${account.user} (TRANSCODER_USER) cannot reach ${what}: ${blocked} is not searchable for it (chmod o+x it)`,
    );
  }
}

/**
 * A temporary folder of the account's own, the TMPDIR of its processes (FFmpeg's and sharp's work files,
 * the S3 driver's scratch): a /tmp/videoflix-scratch that an earlier root run made would be read-only to it.
 */
export function accountTempDir(account: ServiceAccount): string {
  assertReachable(account, tmpdir(), `a temporary folder in ${tmpdir()}`);
  const dir = mkdtempSync(join(tmpdir(), `vf-${account.user}-`));
  chownSync(dir, account.uid, account.gid);
  return dir;
}
