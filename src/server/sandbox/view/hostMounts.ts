/** Overlay mounts made by the server (root only), and finding the ones a crash left behind. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Characters the overlay option string cannot carry in a path (`:` separates lower dirs, `,` options). */
export function overlaySafePath(p: string): boolean {
  return !/[,:\\\n"]/.test(p);
}

/**
 * Mounts an overlay, nosuid and nodev: a setuid file or a device node the sandbox made in
 * its layer grants nothing on the host. The lower dir's path comes from codebase directory
 * names, which a sandbox can choose (`a:/host/dir` would add a host directory as a lower
 * layer), so it never enters the option string: it is reached through a symlink with a name
 * the server chose, `<layerDir>/lower`, which the kernel follows when it resolves the option.
 */
export async function mountOverlay(
  lower: string,
  layerDir: string,
  upper: string,
  work: string,
  target: string,
): Promise<void> {
  const lowerLink = `${layerDir}/lower`;
  for (const p of [lowerLink, upper, work]) {
    // Server-chosen paths under a data dir checked at start: this only guards that invariant.
    if (!overlaySafePath(p))
      throw new Error(
        `refusing to mount an overlay: ${JSON.stringify(p)} contains a character overlayfs options cannot carry (, : \\ ")`,
      );
  }
  fs.symlinkSync(lower, lowerLink);
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `nosuid,nodev,lowerdir=${lowerLink},upperdir=${upper},workdir=${work}`,
    target,
  ]);
}

/** Lazy unmount: a process still holding the mount cannot keep us from cleaning up. */
export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', ['-l', target]);
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (!/not mounted|no mount point|not found/i.test(text)) throw err;
  }
}

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (!mountPoint) continue;
    // mountinfo escapes space, tab, newline and backslash as octal.
    const decoded = mountPoint.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(prefix)) out.push(decoded);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** A size-limited tmpfs (root only) that nothing on it can use to gain privileges. */
export async function mountTmpfs(target: string, sizeBytes: number, mode: number): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=${mode.toString(8)},nosuid,nodev`, 'tmpfs', target]);
}
