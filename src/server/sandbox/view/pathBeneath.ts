/**
 * Opening paths inside a directory the sandbox can change, without ever following a symlink
 * the sandbox planted: each component is opened relative to the previous one's fd (through
 * /proc/self/fd, Node has no openat) with O_NOFOLLOW. A directory swapped for a symlink to a
 * host directory mid-walk makes the open fail instead of leading the server outside.
 * Everything here is asynchronous: a sandbox decides how many paths and how deep, and the
 * server's event loop must keep answering other clients meanwhile.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
export const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** `name` opened relative to an open directory, never following a symlink at `name`. */
export function openAt(dir: FileHandle, name: string, flags: number): Promise<FileHandle> {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    return Promise.reject(Object.assign(new Error(`bad path component ${JSON.stringify(name)}`), { code: 'EINVAL' }));
  }
  return open(`/proc/self/fd/${dir.fd}/${name}`, flags | O_NOFOLLOW);
}

/** Handle of `base/rel`; `base` is trusted (server-made), `rel` is not. Rejects on any symlink in rel. */
export async function openBeneath(base: string, rel: string, flags: number): Promise<FileHandle> {
  const parts = rel.split('/').filter(Boolean);
  if (parts.length === 0 && (flags & O_DIRECTORY) === 0)
    throw Object.assign(new Error('empty path'), { code: 'EINVAL' });
  let handle = await open(base, O_RDONLY | O_DIRECTORY);
  try {
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      const next = await openAt(handle, part, last ? flags : O_RDONLY | O_DIRECTORY);
      await handle.close();
      handle = next;
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A regular file's handle for reading, or undefined (symlink, fifo, gone…). */
export async function openFileBeneath(base: string, rel: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await openBeneath(base, rel, O_RDONLY | O_NONBLOCK);
  } catch {
    return undefined; // not a regular file we may read
  }
  try {
    if ((await handle.stat()).isFile()) return handle;
  } catch {
    // fall through: close and report nothing
  }
  await handle.close();
  return undefined;
}
