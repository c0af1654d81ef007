/**
 * Opening paths inside a directory the sandbox can change, without ever following a symlink
 * the sandbox planted: each component is opened relative to the previous one's fd (through
 * /proc/self/fd, Node has no openat) with O_NOFOLLOW. A directory swapped for a symlink to a
 * host directory mid-walk makes the open fail instead of leading the server outside.
 */
import * as fs from 'node:fs';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** fd of `base/rel`; `base` is trusted (server-made), `rel` is not. Throws on any symlink in rel. */
export function openBeneath(base: string, rel: string, flags: number): number {
  const parts = rel.split('/').filter(Boolean);
  let fd = fs.openSync(base, O_RDONLY | O_DIRECTORY);
  try {
    for (const [i, part] of parts.entries()) {
      if (part === '..' || part === '.') throw Object.assign(new Error(`bad path component ${part}`), { code: 'EINVAL' });
      const last = i === parts.length - 1;
      const next = fs.openSync(`/proc/self/fd/${fd}/${part}`, (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW);
      fs.closeSync(fd);
      fd = next;
    }
    if (parts.length === 0 && flags !== (O_RDONLY | O_DIRECTORY)) throw Object.assign(new Error('empty path'), { code: 'EINVAL' });
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Entries of `base/rel` (no symlink followed), with lstat results; [] if it is not a directory now. */
export function readDirBeneath(base: string, rel: string): { name: string; stat: fs.BigIntStats }[] {
  let fd: number;
  try {
    fd = openBeneath(base, rel, O_RDONLY | O_DIRECTORY);
  } catch {
    return [];
  }
  try {
    const dir = `/proc/self/fd/${fd}`;
    const out: { name: string; stat: fs.BigIntStats }[] = [];
    for (const name of fs.readdirSync(dir)) {
      try {
        out.push({ name, stat: fs.lstatSync(`${dir}/${name}`, { bigint: true }) });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** A regular file's fd for reading, or undefined (symlink, fifo, gone…). */
export function openFileBeneath(base: string, rel: string): number | undefined {
  try {
    const fd = openBeneath(base, rel, O_RDONLY | O_NONBLOCK);
    if (fs.fstatSync(fd).isFile()) return fd;
    fs.closeSync(fd);
  } catch {
    // not a regular file we may read
  }
  return undefined;
}
