/**
 * The ignore rules of an upload, each remembering where it came from. The walker decides with
 * them which files make up a codebase, and the permission preview explains with the very same
 * rules why a file is not in the sandbox: one implementation, so the two cannot disagree.
 */
import ignore, { type Ignore } from 'ignore';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

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

/** Where an ignore rule was written. */
export type IgnoreOrigin =
  | { kind: 'default' }
  /** An ignore file, by its codebase path (`.gitignore`, `pkg/.sandboxignore`). */
  | { kind: 'file'; path: string }
  /** The caller's extra patterns (WalkOptions.ignore; the extension's `agentfense.ignore`). */
  | { kind: 'option' };

/** The rule that leaves a path out, as written, and where. */
export interface IgnoreMatch {
  pattern: string;
  origin: IgnoreOrigin;
}

/** An ignore file's text and its codebase path. */
export interface IgnoreFile {
  path: string;
  text: string;
}

/** The ignore rules of one directory (`base`, '' for the root), applied to paths relative to it. */
export interface IgnoreScope {
  base: string;
  rules: Ignore;
}

// `ignore` carries a string mark through to the rule that matched; the origin travels in it.
// Codebase paths never hold a NUL, so these marks cannot be mistaken for a file's path.
const DEFAULT_MARK = '\0default';
const OPTION_MARK = '\0option';

function originOf(mark: string | undefined): IgnoreOrigin {
  if (mark === DEFAULT_MARK || mark === undefined) return { kind: 'default' };
  if (mark === OPTION_MARK) return { kind: 'option' };
  return { kind: 'file', path: mark };
}

/**
 * Adds a file's lines as `ignore` would split them itself (one CR dropped at the end, lines on
 * CRLF or LF), but one rule at a time so each carries its mark. One `add` per file: `ignore`
 * strips a BOM from the first pattern of each call, as git does at the start of a file.
 */
function addFile(rules: Ignore, file: IgnoreFile): void {
  const text = file.text.endsWith('\r') ? file.text.slice(0, -1) : file.text;
  const lines = text.split(/\r?\n/).filter(Boolean);
  rules.add(lines.map((pattern) => ({ pattern, mark: file.path })));
}

const marked = (patterns: readonly string[], mark: string) => patterns.map((pattern) => ({ pattern, mark }));

/** The root's rules: DEFAULT_IGNORES, then the root's ignore files, then the caller's patterns (which win). */
export function rootIgnoreScope(
  files: readonly IgnoreFile[],
  extra: readonly string[],
  withDefaults: boolean,
): IgnoreScope {
  const rules = ignore();
  if (withDefaults) rules.add(marked(DEFAULT_IGNORES, DEFAULT_MARK));
  for (const file of files) addFile(rules, file);
  rules.add(marked(extra, OPTION_MARK));
  return { base: '', rules };
}

/** A nested directory's rules, or undefined when it has no ignore file. */
export function nestedIgnoreScope(base: string, files: readonly IgnoreFile[]): IgnoreScope | undefined {
  if (files.length === 0) return undefined;
  const rules = ignore();
  for (const file of files) addFile(rules, file);
  return { base, rules };
}

/**
 * The rule that ignores `relPath`, or undefined when it is kept. Deeper scopes decide last (as
 * git's nested .gitignore files do); a scope that says nothing about the path leaves the verdict
 * of the scopes above it. Parents are not consulted: callers test each directory on the way down.
 */
export function matchIgnore(relPath: string, isDir: boolean, scopes: readonly IgnoreScope[]): IgnoreMatch | undefined {
  let match: IgnoreMatch | undefined;
  for (const scope of scopes) {
    const rel = scope.base === '' ? relPath : relPath.slice(scope.base.length + 1);
    const verdict = scope.rules.test(isDir ? rel + '/' : rel);
    // `rule` is there whenever `ignored` is; the fallback keeps the verdict if it ever is not.
    if (verdict.ignored) match = { pattern: verdict.rule?.pattern ?? '', origin: originOf(verdict.rule?.mark) };
    else if (verdict.unignored) match = undefined;
  }
  return match;
}

/**
 * The ignore files of directory `absDir` (codebase path `relDir`), in IGNORE_FILE_NAMES order.
 * `listed` says which names its listing holds (the walker has it; others pass undefined and every
 * name is tried). A directory by that name holds no rules; a link is followed, as reading the
 * name would.
 */
export async function readIgnoreFiles(
  absDir: string,
  relDir: string,
  listed?: (name: string) => boolean,
): Promise<IgnoreFile[]> {
  const files: IgnoreFile[] = [];
  for (const name of IGNORE_FILE_NAMES) {
    if (listed && !listed(name)) continue;
    try {
      files.push({
        path: relDir === '' ? name : `${relDir}/${name}`,
        text: await fs.readFile(join(absDir, name), 'utf8'),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EISDIR') throw err;
    }
  }
  return files;
}
