// Who the edge's nginx workers run as when it is started as root (npm run up on a root shell, the tests
// in a container): an unprivileged account, never root, so a flaw in a worker reaches no more than what
// `nobody` may read. The master stays root (it reads the certificate key and the config holding the
// media secret, both 0600). The workers must still reach the media tree to sendfile segments, which a
// private temporary folder above it (mkdtemp's 0700) would forbid without a word: nginx would fall back
// to the api for every segment. workerCannotReach() finds such a folder before nginx starts.
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** An account of /etc/passwd: what setpriv needs to switch to it, and its home for HOME. */
export interface SystemAccount {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

export interface WorkerAccount extends SystemAccount {
  group: string;
}

const field = (file: string, key: (fields: string[]) => boolean): string[] | null => {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const fields = line.split(":");
    if (fields.length > 3 && key(fields)) return fields;
  }
  return null;
};

/** The account named `user`, or null when this machine has none. */
export function systemAccount(user: string): SystemAccount | null {
  const entry = field("/etc/passwd", (fields) => fields[0] === user);
  if (!entry) return null;
  return { user, uid: Number(entry[2]), gid: Number(entry[3]), home: entry[5] || "/" };
}

/** The account named `user` (its primary group by name, as nginx's `user` directive wants it). */
export function workerAccount(user: string): WorkerAccount {
  const account = systemAccount(user);
  if (!account) throw new Error(`the edge's worker user "${user}" does not exist (EDGE_USER)`);
  const { uid, gid } = account;
  if (uid === 0) throw new Error(`the edge's workers must not run as root ("${user}" has uid 0)`);
  // Debian's nobody has the group nogroup: nginx would look for a group called like the user.
  const group = field("/etc/group", (fields) => Number(fields[2]) === gid)?.[0];
  if (!group) throw new Error(`the primary group (gid ${gid}) of "${user}" has no name in /etc/group`);
  return { ...account, group };
}

/**
 * The first folder on the way to `dir` (itself included, as far as it exists yet: the api creates the
 * media root) that `account` may not search, or null when it reaches it. Only the primary group is
 * looked at (nobody has no other).
 */
export function workerCannotReach(dir: string, account: Pick<SystemAccount, "uid" | "gid">): string | null {
  const chain: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    chain.unshift(current);
    if (current === dirname(current)) break;
  }
  for (const folder of chain) {
    let mode: number;
    let uid: number;
    let gid: number;
    try {
      ({ mode, uid, gid } = statSync(folder));
    } catch {
      return null;
    }
    const searchBit = uid === account.uid ? 0o100 : gid === account.gid ? 0o010 : 0o001;
    if ((mode & searchBit) === 0) return folder;
  }
  return null;
}
