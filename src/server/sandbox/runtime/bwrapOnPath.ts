/**
 * Where bwrap is: the first executable `bwrap` in PATH, and only there. The host check and
 * the launcher use this one lookup, so the bwrap that was checked is the one that runs, and
 * a PATH without bwrap means "not installed" (no hidden fallback directories).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';

/** The PATH searched: the server's own (`/usr/bin:/bin` when it has none). */
export function searchPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PATH ?? '/usr/bin:/bin';
}

export function bwrapOnPath(path = searchPath()): string | undefined {
  for (const dir of path.split(':')) {
    // An empty entry means the current directory, which no server should trust.
    if (!dir.startsWith('/')) continue;
    const p = join(dir, 'bwrap');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
