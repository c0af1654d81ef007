/**
 * Which local files make up a codebase: a directory walk that honours ignore files the way
 * git does.
 */
import ignore, { type Ignore } from 'ignore';
import { promises as fs, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { normalizeCodebasePath } from '../shared/codebasePath';

/**
 * Always ignored, as the Python SDK's `walk_directory` does (same list, minus nothing;
 * `dist/` and `build/` are *not* ignored, since tests often need them). `.env` is ignored
 * too, so secrets do not even reach the server; re-include with `ignore: ['!.env']`.
 */
export const DEFAULT_IGNORES: readonly string[] = [
  '.git',
  'node_modules',
  '__pycache__',
  '*.pyc',
  '*.pyo',
  '.DS_Store',
  'Thumbs.db',
  '.venv',
  'venv',
  '.env',
  '*.egg-info',
  '.tox',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
];

/** Ignore files read in every directory, in this order (later lines win). */
export const IGNORE_FILE_NAMES = ['.gitignore', '.sandboxignore'] as const;

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
}

/** The ignore rules of one directory, applied to paths relative to it. */
interface IgnoreScope {
  base: string;
  rules: Ignore;
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
  const rootRules = ignore();
  if (!options.noDefaultIgnores) rootRules.add([...DEFAULT_IGNORES]);
  for (const text of await readIgnoreFiles(dir)) rootRules.add(text);
  rootRules.add([...(options.ignore ?? [])]);
  const files: LocalFile[] = [];
  await walkDirectory(dir, '', [{ base: '', rules: rootRules }], files, options);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function readIgnoreFiles(absDir: string): Promise<string[]> {
  const texts: string[] = [];
  for (const name of IGNORE_FILE_NAMES) {
    try {
      texts.push(await fs.readFile(join(absDir, name), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    }
  }
  return texts;
}

/** Deeper scopes decide last; a scope that says nothing about the path leaves the verdict. */
function isIgnored(relPath: string, isDir: boolean, scopes: readonly IgnoreScope[]): boolean {
  let ignored = false;
  for (const scope of scopes) {
    const rel = scope.base === '' ? relPath : relPath.slice(scope.base.length + 1);
    const verdict = scope.rules.test(isDir ? rel + '/' : rel);
    if (verdict.ignored) ignored = true;
    else if (verdict.unignored) ignored = false;
  }
  return ignored;
}

async function walkDirectory(
  absDir: string,
  relDir: string,
  scopes: readonly IgnoreScope[],
  out: LocalFile[],
  options: WalkOptions,
): Promise<void> {
  options.signal?.throwIfAborted();
  let entries: Dirent[];
  try {
    entries = await fs.readdir(absDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') {
      options.onSkip?.(absDir, `cannot read directory (${code})`);
      return;
    }
    throw err;
  }
  await Promise.all(
    entries.map(async (entry) => {
      const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      const absPath = join(absDir, entry.name);
      if (!entry.isFile() && !entry.isDirectory()) return; // symlinks, sockets, FIFOs, devices
      const isDir = entry.isDirectory();
      if (isIgnored(relPath, isDir, scopes)) return;
      try {
        normalizeCodebasePath(relPath);
      } catch (err) {
        options.onSkip?.(absPath, (err as Error).message);
        return;
      }
      if (isDir) {
        const texts = await readIgnoreFiles(absPath);
        const nested = texts.length ? [...scopes, { base: relPath, rules: ignore().add(texts.join('\n')) }] : scopes;
        await walkDirectory(absPath, relPath, nested, out, options);
        return;
      }
      let stat;
      try {
        stat = await fs.lstat(absPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // deleted while walking
        throw err;
      }
      if (!stat.isFile()) return;
      out.push({ path: relPath, absPath, size: stat.size, mtimeMs: stat.mtimeMs, mode: stat.mode & 0o7777 });
    }),
  );
}
