/**
 * Codebase paths: relative, `/`-separated, inside the codebase root. One validator for the
 * client (before it sends) and the server (before it touches the disk).
 */

export class InvalidPathError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'InvalidPathError';
  }
}

/** Longest path we accept; Linux refuses longer ones anyway. */
export const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/**
 * Validates a path that names a file inside a codebase and returns it normalised
 * (`a/b/c`, no leading `./`). Rejects absolute paths, `..`, empty segments, NUL bytes.
 */
export function normalizeCodebasePath(path: string, { allowRoot = false } = {}): string {
  if (typeof path !== 'string') throw new InvalidPathError(String(path), 'not a string');
  if (path.includes('\0')) throw new InvalidPathError(path, 'contains a NUL byte');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES)
    throw new InvalidPathError(path.slice(0, 64) + '…', `longer than ${MAX_PATH_BYTES} bytes`);
  if (path.startsWith('/')) throw new InvalidPathError(path, 'must be relative to the codebase root');
  if (path.includes('\\')) throw new InvalidPathError(path, 'backslashes are not path separators here; use /');
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '' || p === '.') {
    if (allowRoot) return '';
    throw new InvalidPathError(path, 'names the codebase root, not a file');
  }
  for (const segment of p.split('/')) {
    if (segment === '') throw new InvalidPathError(path, 'has an empty segment');
    if (segment === '.' || segment === '..') throw new InvalidPathError(path, `has a "${segment}" segment`);
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES)
      throw new InvalidPathError(path, `a name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  return p;
}

/**
 * Turns what a user or SDK passes for a sandbox file (`/workspace/out/a.txt`, `/out/a.txt`,
 * `out/a.txt`) into a codebase path, as the Python SDK does: the `/workspace` prefix and then
 * any leading `/` are dropped.
 */
export function sandboxPathToCodebasePath(path: string): string {
  let p = path;
  if (p === '/workspace') return '';
  if (p.startsWith('/workspace/')) p = p.slice('/workspace/'.length);
  p = p.replace(/^\/+/, '');
  return normalizeCodebasePath(p, { allowRoot: true });
}
