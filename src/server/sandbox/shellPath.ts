/** Which shells a session or terminal may run: the host's, which every sandbox sees read-only. */
import * as fs from 'node:fs';
import { invalidArgument } from '../rpc/rpcError';
import type { SandboxRuntime } from '../../shared/sandboxRuntime';

const DEFAULT_SHELL = '/bin/bash';
/** System directories bound read-only into every sandbox (bwrapArgs' SYSTEM_DIRS): nothing a sandbox wrote. */
const SHELL_DIRS = ['/usr/', '/bin/', '/sbin/'];

/**
 * The shell to run, or INVALID_ARGUMENT saying why it cannot be. Empty: bash on the host; in a
 * Docker sandbox /bin/sh, which every image with a shell has (the image's own files decide
 * whether a named one exists: a missing one fails when the session's first command runs).
 */
export function validShell(shell: string, runtime: SandboxRuntime['kind'] = 'bwrap'): string {
  const s = shell || (runtime === 'docker' ? '/bin/sh' : DEFAULT_SHELL);
  if (
    !s.startsWith('/') ||
    s.includes('\0') ||
    s.split('/').includes('..') ||
    !SHELL_DIRS.some((d) => s.startsWith(d))
  ) {
    throw invalidArgument(`shell ${JSON.stringify(shell)} must be an absolute path under /usr, /bin or /sbin`);
  }
  if (runtime === 'docker') return s;
  try {
    fs.accessSync(s, fs.constants.X_OK);
    if (!fs.statSync(s).isFile()) throw new Error('not a file');
  } catch {
    throw invalidArgument(`shell ${s} does not exist in the sandbox`);
  }
  return s;
}
