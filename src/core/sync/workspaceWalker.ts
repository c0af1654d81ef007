/**
 * Which local files make up a codebase: a directory walk that honours ignore files the way
 * git does.
 */
import { lstatSync, promises as fs, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { normalizeCodebasePath } from '../../shared/codebasePath';
import { matchIgnore, nestedIgnoreScope, readIgnoreFiles, rootIgnoreScope, type IgnoreScope } from './ignoreRules';

// The rules live beside the preview's explanation of them (ignoreRules.ts); re-exported here,
// where callers of the walker have always found them.
export { DEFAULT_IGNORES, IGNORE_FILE_NAMES } from './ignoreRules';

export interface LocalFile {
  /** Codebase path: relative to the walked directory, `/`-separated. */
  path: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  /** Permission bits (e.g. 0o755). */
  mode: number;
}

export interface WalkOptions {
  /** Extra gitignore-style patterns, relative to the walked directory; they win over the root ignore files. */
  ignore?: readonly string[];
  /** Leave out DEFAULT_IGNORES. */
  noDefaultIgnores?: boolean;
  signal?: AbortSignal;
  /** Told about files and directories that are left out for a reason other than an ignore rule. */
  onSkip?: (absPath: string, reason: string) => void;
  /** Told about each directory it walks, before it lists it (a watcher armed then misses nothing). */
  onDirectory?: (absPath: string) => void;
}

/**
 * Lists the regular files under `dir` that are not ignored, sorted by path.
 *
 * Rules: DEFAULT_IGNORES, then `.gitignore` and `.sandboxignore` of the root, then
 * `options.ignore`; a nested `.gitignore`/`.sandboxignore` applies to its own folder (paths
 * relative to it) and overrides rules from above, negations (`!x`) included. As in git, a
 * file inside an ignored directory cannot be re-included.
 *
 * Symbolic links (to files or directories) and special files (sockets, FIFOs, devices) are
 * skipped silently: following links could leave the directory or loop. Unreadable
 * directories and names a codebase cannot hold (e.g. containing `\`) are skipped and
 * reported to `onSkip`.
 */
export async function walkWorkspace(dir: string, options: WalkOptions = {}): Promise<LocalFile[]> {
  const rootStat = await fs.stat(dir);
  if (!rootStat.isDirectory()) throw new Error(`not a directory: ${dir}`);
  // The root's ignore files sit between the defaults and options.ignore, so they are part of
  // the root scope rather than a scope of their own.
  const rootEntries = await readDirectory(dir, options);
  const rootFiles = rootEntries ? await readIgnoreFiles(dir, '', listedFile(rootEntries)) : [];
  const rootScope = rootIgnoreScope(rootFiles, options.ignore ?? [], !options.noDefaultIgnores);
  // Phase 1: list the directories (one readdir each; dirent types say what is a file).
  const candidates: { path: string; absPath: string }[] = [];
  if (rootEntries) await walkDirectory(dir, '', rootEntries, [rootScope], candidates, options, true);
  // Phase 2: size, mtime and mode of each file.
  const files = await statFiles(candidates, options.signal);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Files stat'ed per turn of the event loop. A stat of a listed file is answered from the
 * kernel's cache in a microsecond or two, while a round trip through libuv's thread pool
 * costs several times that; so the stats run synchronously, in batches small enough
 * (a few ms) that the event loop stays responsive between them.
 */
const STAT_BATCH = 256;

async function statFiles(
  candidates: readonly { path: string; absPath: string }[],
  signal: AbortSignal | undefined,
): Promise<LocalFile[]> {
  const found: LocalFile[] = [];
  for (let start = 0; start < candidates.length; start += STAT_BATCH) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    for (const { path, absPath } of candidates.slice(start, start + STAT_BATCH)) {
      const stat = lstatSync(absPath, { throwIfNoEntry: false });
      if (!stat) continue; // deleted while walking
      if (!stat.isFile()) continue; // replaced by a link or special file since the listing
      found.push({ path, absPath, size: stat.size, mtimeMs: stat.mtimeMs, mode: stat.mode & 0o7777 });
    }
  }
  return found;
}

/** The directory's entries, or undefined (reported to onSkip) when it cannot be read. */
async function readDirectory(absDir: string, options: WalkOptions): Promise<Dirent[] | undefined> {
  options.signal?.throwIfAborted();
  options.onDirectory?.(absDir);
  try {
    return await fs.readdir(absDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') {
      options.onSkip?.(absDir, `cannot read directory (${code})`);
      return undefined;
    }
    throw err;
  }
}

/** Only names the listing holds as something other than a directory are opened as ignore files. */
function listedFile(entries: readonly Dirent[]): (name: string) => boolean {
  return (name) => entries.some((e) => e.name === name && !e.isDirectory());
}

async function walkDirectory(
  absDir: string,
  relDir: string,
  entries: readonly Dirent[],
  scopes: readonly IgnoreScope[],
  out: { path: string; absPath: string }[],
  options: WalkOptions,
  isRoot = false,
): Promise<void> {
  if (!isRoot) {
    // The root's ignore files are already part of the root scope.
    const nested = nestedIgnoreScope(relDir, await readIgnoreFiles(absDir, relDir, listedFile(entries)));
    if (nested) scopes = [...scopes, nested];
  }
  const subdirs: Promise<void>[] = [];
  for (const entry of entries) {
    if (!entry.isFile() && !entry.isDirectory()) continue; // symlinks, sockets, FIFOs, devices
    const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    const absPath = join(absDir, entry.name);
    const isDir = entry.isDirectory();
    if (matchIgnore(relPath, isDir, scopes)) continue;
    try {
      normalizeCodebasePath(relPath);
    } catch (err) {
      options.onSkip?.(absPath, (err as Error).message);
      continue;
    }
    if (isDir) {
      subdirs.push(
        readDirectory(absPath, options).then((sub) =>
          sub ? walkDirectory(absPath, relPath, sub, scopes, out, options) : undefined,
        ),
      );
    } else {
      out.push({ path: relPath, absPath });
    }
  }
  await Promise.all(subdirs);
}
