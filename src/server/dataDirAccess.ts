/**
 * Who may enter which directory of the data dir. Other local users must not reach a byte of
 * it: everything is 0700 to the server, except the few directories bwrap has to walk as the
 * sandbox user to find its view, layers and /tmp (the data dir, views/, sandboxes/,
 * sandboxes/<id>/, and its mnt/ and copy/). Under a root server those are root:<sandbox gid>
 * 0710 (search only, for the sandbox's group, which no other account shares: see
 * refuseSharedSandboxGroup); under a normal user the sandbox is that user, so they are 0700.
 */
import * as fs from 'node:fs';
import type { SandboxIdentity } from './sandbox/sandboxIdentity';

/** Creates (if needed) a directory only the server can enter, and makes it so if it was not. */
export function privateDir(path: string): void {
  fs.mkdirSync(path, { recursive: true, mode: 0o700 });
  fs.chmodSync(path, 0o700);
}

/** Creates (if needed) a directory bwrap walks as the sandbox user, and repairs its owner and mode. */
export function sandboxWalkDir(path: string, identity: SandboxIdentity): void {
  fs.mkdirSync(path, { recursive: true, mode: 0o700 });
  if (identity.serverIsRoot) {
    fs.chownSync(path, 0, identity.gid);
    fs.chmodSync(path, 0o710);
  } else {
    fs.chmodSync(path, 0o700);
  }
}
