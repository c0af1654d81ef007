/**
 * What a cloud sandbox's workspace folder holds, listed inside the sandbox (one `find`, its
 * output base64-encoded so that any name survives the trip byte for byte) and compared with the
 * listing taken when the files were pushed: the paths a run added, changed or removed, found
 * without downloading anything.
 */
import { shellQuote } from '../shared/shellQuote';

export type EntryKind = 'file' | 'link' | 'other';

export interface ManifestEntry {
  kind: EntryKind;
  size: number;
  /** Modification time as find prints it (seconds, fractional): compared as text, never rounded. */
  mtime: string;
}

export type WorkspaceManifest = Record<string, ManifestEntry>;

export interface ManifestChange {
  path: string;
  change: 'added' | 'modified' | 'removed';
  /** What is there now (absent when removed). */
  kind?: EntryKind;
  size?: number;
}

/** The shell command that prints the manifest of `root` (directories are implied by their files). */
export function manifestCommand(root: string): string {
  return `cd ${shellQuote(root)} && find . -mindepth 1 ! -type d -printf '%y %s %T@ %P\\0' | base64 -w0`;
}

/** The manifest from what `manifestCommand` printed. */
export function parseManifest(base64: string): WorkspaceManifest {
  const out: WorkspaceManifest = {};
  const text = Buffer.from(base64.trim(), 'base64');
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== 0) continue;
    const record = text.subarray(start, i);
    start = i + 1;
    // "<type> <size> <mtime> <path>": the path last, so spaces in it are kept.
    const fields: number[] = [];
    for (let j = 0; j < record.length && fields.length < 3; j++) if (record[j] === 0x20) fields.push(j);
    if (fields.length < 3) continue;
    const type = record.subarray(0, fields[0]).toString();
    const size = Number(record.subarray(fields[0] + 1, fields[1]).toString());
    const mtime = record.subarray(fields[1] + 1, fields[2]).toString();
    const path = decodePath(record.subarray(fields[2] + 1));
    out[path] = { kind: type === 'f' ? 'file' : type === 'l' ? 'link' : 'other', size, mtime };
  }
  return out;
}

/**
 * A path as text. A name that is not UTF-8 cannot be a codebase path: it is kept as its bytes
 * in \xNN escapes (every byte outside printable ASCII, and every backslash) behind a NUL, which
 * no real name holds, so it never equals another name and is always refused, never merged.
 */
function decodePath(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return text;
  const escaped = [...bytes]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
  return `\0${escaped}`;
}

export function isUtf8Path(path: string): boolean {
  return !path.startsWith('\0');
}

/** The path for a message: a name that is not UTF-8 in its escapes. */
export function shownPath(path: string): string {
  return isUtf8Path(path) ? path : path.slice(1);
}

/**
 * A shell line that removes `path`, a listed name: one that is not UTF-8 is turned back into its
 * bytes by printf (every backslash in it is one of ours; the X keeps a trailing newline).
 */
export function removeLine(path: string): string {
  if (isUtf8Path(path)) return `rm -rf -- ${shellQuote(path)}`;
  return `__af_path=$(printf '%bX' ${shellQuote(path.slice(1))}) && rm -rf -- "\${__af_path%X}"`;
}

/** What changed from `before` to `after`, sorted by path. */
export function manifestChanges(before: WorkspaceManifest, after: WorkspaceManifest): ManifestChange[] {
  const out: ManifestChange[] = [];
  for (const [path, now] of Object.entries(after)) {
    const was = before[path];
    if (!was) out.push({ path, change: 'added', kind: now.kind, size: now.size });
    else if (was.kind !== now.kind || was.size !== now.size || was.mtime !== now.mtime)
      out.push({ path, change: 'modified', kind: now.kind, size: now.size });
  }
  for (const path of Object.keys(before)) if (!(path in after)) out.push({ path, change: 'removed' });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
