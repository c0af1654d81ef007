/**
 * A folder of ours in the shared temp dir. /tmp is writable by everyone, so the name may
 * already be taken by someone else: a folder another user created first (who could then swap
 * our socket for theirs) or a symlink to one. Those are refused; a folder of ours that was
 * left open gets its mode back.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';

export class TempDirTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TempDirTakenError';
  }
}

/** Creates `dir` (one level, in the temp dir) with `mode`, or checks that the existing one is ours. */
export function privateTempDir(dir: string, mode: number): string {
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory())
    throw new TempDirTakenError(
      `${dir} exists and is not a directory (a symlink?); refusing to use it. Remove it and try again.`,
    );
  if (st.uid !== uid)
    throw new TempDirTakenError(
      `${dir} belongs to uid ${st.uid}, not to you (uid ${uid}); refusing to use it. Remove it and try again.`,
    );
  if ((st.mode & 0o7777) !== mode) chmodSync(dir, mode);
  return dir;
}
