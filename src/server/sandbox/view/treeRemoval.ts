/**
 * Removing a directory tree a sandbox may have shaped: thousands of levels deep (Node's
 * recursive rm fails with ENAMETOOLONG or a stack overflow) or millions of entries (a
 * synchronous rm would freeze the server). GNU rm walks with openat at any depth, in its own
 * process; --one-file-system keeps it out of anything still mounted below.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';

export function removeTree(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('rm', ['-rf', '--one-file-system', '--', path], (err, _stdout, stderr) => {
      if (!err) return resolve();
      // No rm (a very bare host): Node's own, which handles every tree but the pathological.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(rm(path, { recursive: true, force: true }));
      reject(new Error(`removing ${path} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}
