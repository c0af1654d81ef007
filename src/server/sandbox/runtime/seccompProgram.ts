/**
 * The seccomp program every sandboxed command runs under (bwrap --seccomp): dist/seccomp.bpf,
 * built by scripts/build.mjs from seccomp-policy.json with libseccomp, shipped beside
 * dist/server.js. Without it no sandbox starts: running one unfiltered would silently drop
 * a protection the README promises.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../../rpc/rpcError';

/** The descriptor bwrap reads the program from (see bwrapLauncher's list of descriptors). */
export const SECCOMP_FD = 3;

/** Next to the bundle (dist/server.js → dist/seccomp.bpf). */
export const SECCOMP_PROGRAM = join(__dirname, 'seccomp.bpf');

/** Opens the program for one bwrap; the caller closes it once bwrap is spawned. */
export function openSeccompProgram(path = SECCOMP_PROGRAM): number {
  try {
    const fd = fs.openSync(path, 'r');
    // A classic BPF program is a whole number of 8-byte instructions.
    const size = fs.fstatSync(fd).size;
    if (size === 0 || size % 8 !== 0) {
      fs.closeSync(fd);
      throw new Error(`${size} bytes is not a BPF program`);
    }
    return fd;
  } catch (err) {
    throw failedPrecondition(
      `the sandbox seccomp program ${path} is missing or broken (${(err as Error).message}); ` +
        'rebuild the server with `node scripts/build.mjs` (it needs python3-seccomp: apt-get install -y python3-seccomp). ' +
        'Sandboxes do not start without it.',
    );
  }
}

/** FAILED_PRECONDITION now, at CreateSandbox, rather than at the first command. */
export function checkSeccompProgram(): void {
  fs.closeSync(openSeccompProgram());
}
