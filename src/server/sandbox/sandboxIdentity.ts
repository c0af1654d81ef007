/**
 * Which host user sandboxes run as. As root the server runs them as a dedicated unprivileged
 * uid (default 61000), so file modes and ownership decide what they can touch; as a normal
 * user it runs them as itself. Inside, bwrap always maps the user to uid/gid 1000.
 */
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
