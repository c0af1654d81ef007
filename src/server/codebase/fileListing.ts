/**
 * Directory listings derived from a manifest's file paths (the store keeps no directory
 * objects: a directory exists while some file lies beneath it).
 */
import type { Manifest } from './manifest';

export interface FileListing {
  /** Path from the codebase root (`src/a.py`). */
  path: string;
  name: string;
  isDir: boolean;
  /** Bytes for a file; 0 for a directory. */
  size: number;
  /** For a directory: the newest modification time beneath it. */
  modifiedAtMs: number;
}

/** Lists `dir` ('' = root), which must be a directory of `manifest`; sorted by path. */
export function listDirectory(manifest: Manifest, dir: string, recursive: boolean): FileListing[] {
  const prefix = dir === '' ? '' : `${dir}/`;
  const files: FileListing[] = [];
  const dirs = new Map<string, FileListing>();
  const noteDir = (path: string, mtimeMs: number) => {
    const known = dirs.get(path);
    if (known) known.modifiedAtMs = Math.max(known.modifiedAtMs, mtimeMs);
    else dirs.set(path, { path, name: baseName(path), isDir: true, size: 0, modifiedAtMs: mtimeMs });
  };
  for (const entry of manifest.entries()) {
    if (!entry.path.startsWith(prefix)) continue;
    const rest = entry.path.slice(prefix.length);
    let slash = rest.indexOf('/');
    if (slash === -1 || recursive) {
      files.push({
        path: entry.path,
        name: baseName(entry.path),
        isDir: false,
        size: entry.size,
        modifiedAtMs: entry.mtimeMs,
      });
    }
    while (slash !== -1) {
      noteDir(prefix + rest.slice(0, slash), entry.mtimeMs);
      if (!recursive) break;
      slash = rest.indexOf('/', slash + 1);
    }
  }
  const all = [...dirs.values(), ...files];
  return all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
