/**
 * Whether a host path is visible inside sandboxes through the read-only binds of the host's
 * system directories (bwrapArgs.ts). A data dir or socket there would be readable by every
 * sandbox: `--data-dir /etc/opt/af` let a sandbox read every blob through /etc.
 */
import * as fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SYSTEM_DIRS } from './bwrapArgs';

const isAtOrUnder = (p: string, dir: string) => p === dir || dir === '/' || p.startsWith(dir + '/');

/** The path with symlinks resolved as far as it exists (the rest does not exist yet). */
export function resolveExisting(path: string): string {
  let p = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(fs.realpathSync(p), ...rest);
    } catch {
      if (p === dirname(p)) return resolve(path);
      rest.unshift(basename(p));
      p = dirname(p);
    }
  }
}

/**
 * The bound system directory `path` is in (or, with `orContains`, that is inside `path`,
 * like `/`), comparing symlink-resolved paths on both sides; undefined if none.
 */
export function systemBindOverlapping(path: string, orContains: boolean): string | undefined {
  const target = resolveExisting(path);
  for (const dir of SYSTEM_DIRS) {
    if (!fs.existsSync(dir)) continue; // --ro-bind-try skips it too
    const bound = fs.realpathSync(dir);
    if (isAtOrUnder(target, bound) || (orContains && isAtOrUnder(bound, target))) return dir;
  }
  return undefined;
}
