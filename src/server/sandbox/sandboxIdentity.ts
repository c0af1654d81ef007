/**
 * Which host user sandboxes run as. As root the server runs them as a dedicated unprivileged
 * uid (default 61000), so file modes and ownership decide what they can touch; as a normal
 * user it runs them as itself. Inside, bwrap always maps the user to uid/gid 1000.
 */
import * as fs from 'node:fs';

export interface SandboxIdentity {
  /** Host uid/gid the bwrap process runs as. */
  uid: number;
  gid: number;
  /** The server can mount, chown and manage cgroups. */
  serverIsRoot: boolean;
}

export const DEFAULT_SANDBOX_UID = 61000;

export function sandboxIdentity(requestedUid?: number): SandboxIdentity {
  const serverUid = process.getuid?.() ?? 0;
  if (serverUid === 0) {
    const uid = requestedUid ?? DEFAULT_SANDBOX_UID;
    return { uid, gid: uid, serverIsRoot: true };
  }
  return { uid: serverUid, gid: process.getgid?.() ?? serverUid, serverIsRoot: false };
}

/**
 * Accounts other than the sandbox user that are in the sandbox's group (as primary group in
 * /etc/passwd or as members in /etc/group). Under a root server the data dir's walk-through
 * directories are searchable by that group, so it must be the sandbox's alone: on Debian,
 * `--sandbox-uid 65534` would give nogroup, which `_apt` and `sync` share.
 */
export function accountsSharingGroup(
  identity: SandboxIdentity,
  files = { passwd: '/etc/passwd', group: '/etc/group' },
): string[] {
  const out = new Set<string>();
  for (const line of readLines(files.passwd)) {
    const [name, , uid, gid] = line.split(':');
    if (Number(gid) === identity.gid && Number(uid) !== identity.uid) out.add(name);
  }
  const sandboxUser = readLines(files.passwd)
    .find((l) => Number(l.split(':')[2]) === identity.uid)
    ?.split(':')[0];
  for (const line of readLines(files.group)) {
    const [, , gid, members = ''] = line.split(':');
    if (Number(gid) !== identity.gid) continue;
    for (const m of members.split(',')) if (m && m !== sandboxUser) out.add(m);
  }
  return [...out];
}

function readLines(file: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}
