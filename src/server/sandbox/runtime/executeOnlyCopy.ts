/**
 * A program sandboxes may run but not read: mode 0111, owned by the server (root, or the
 * server's user, which in a sandbox's user namespace cannot read it either: owner bits apply
 * and the sandbox has no capabilities), bound read-only so no sandbox can chmod it. The
 * kernel marks a process that executed a file it cannot read as non-dumpable: no sandbox
 * process may ptrace it or open its /proc/<pid>/fd or mem.
 */
import * as fs from 'node:fs';
import type { SandboxIdentity } from '../sandboxIdentity';

/** (Re)creates `target` as an execute-only copy of `source`, atomically. */
export function installExecuteOnly(source: string, target: string, identity: SandboxIdentity): void {
  const tmp = `${target}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.copyFileSync(fs.realpathSync(source), tmp);
  fs.chmodSync(tmp, 0o111);
  if (identity.serverIsRoot) fs.chownSync(tmp, 0, 0);
  fs.renameSync(tmp, target);
}
