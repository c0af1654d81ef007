/**
 * What a sandbox sees, decided once per (codebase version, rule set): which files and
 * directories exist in its view, at which level, and which directories must be writable.
 * Pure computation; viewCache.ts turns a plan into a directory tree and bwrapMounts.ts into mounts.
 */
import type { CodebaseSnapshot, ManifestEntry } from '../../codebase/contract';
import { PermissionEngine, type NormalizedRule, type PermissionLevel } from '../../../shared/permissions';

export type VisibleLevel = Exclude<PermissionLevel, 'none'>;

export interface PlannedFile {
  path: string;
  level: VisibleLevel;
  entry: ManifestEntry;
}

export interface ViewPlan {
  engine: PermissionEngine;
  /** Visible files by path. */
  files: Map<string, PlannedFile>;
  /** Visible directories (not the root) by path, parents before children when iterated sorted. */
  dirs: Set<string>;
  /** Direct children names of every visible directory ('' is the root). */
  children: Map<string, Set<string>>;
  /**
   * Directories that get a per-sandbox writable layer ('' = the workspace root): the topmost
   * directories that are themselves `write` or hold a `write` file. Disjoint subtrees.
   */
  writableRoots: string[];
  /**
   * Paths inside writable roots that are bound read-only from the view over the layer: files
   * below `write`, and whole directories that hold nothing writable.
   */
  readOnlyBinds: string[];
}

/** A name no codebase uses: its level tells whether new files at the root may be written. */
const ROOT_PROBE = '.agentfense-root-probe-3f1c';

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const nameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const isUnder = (p: string, dir: string) => dir === '' || p === dir || p.startsWith(dir + '/');

export function planView(snapshot: CodebaseSnapshot, rules: readonly NormalizedRule[]): ViewPlan {
  const engine = new PermissionEngine(rules);
  const files = new Map<string, PlannedFile>();
  const dirsWithVisible = new Set<string>();
  const allDirs = new Set<string>();

  for (const entry of snapshot.entries.values()) {
    for (let d = parentOf(entry.path); d !== ''; d = parentOf(d)) allDirs.add(d);
    const level = engine.permissionOf(entry.path);
    if (level === 'none') continue;
    files.set(entry.path, { path: entry.path, level, entry });
    for (let d = parentOf(entry.path); d !== '' && !dirsWithVisible.has(d); d = parentOf(d)) dirsWithVisible.add(d);
  }

  const dirs = new Set<string>();
  const addDirWithParents = (d: string) => {
    for (let x = d; x !== '' && !dirs.has(x); x = parentOf(x)) dirs.add(x);
  };
  // A directory is present if it is visible itself or something below it is.
  for (const d of allDirs) if (dirsWithVisible.has(d) || engine.permissionOf(d) !== 'none') addDirWithParents(d);
  // Write rules with a literal directory (`/output/**`) get that directory even when the
  // codebase has none yet, so agents have somewhere to write.
  for (const d of literalWriteDirs(rules)) {
    if (files.has(d) || snapshot.entries.has(d)) continue;
    if (engine.permissionOf(d) === 'write') addDirWithParents(d);
  }

  const children = new Map<string, Set<string>>([['', new Set()]]);
  for (const d of dirs) children.set(d, new Set());
  for (const p of [...dirs, ...files.keys()]) children.get(parentOf(p))!.add(nameOf(p));

  const dirLevel = (d: string): PermissionLevel =>
    d === ''
      ? engine.matchingRule('/')
        ? engine.permissionOf('/')
        : engine.permissionOf(ROOT_PROBE)
      : engine.permissionOf(d);
  const needsWrite = new Set<string>();
  for (const d of ['', ...dirs]) if (dirLevel(d) === 'write') needsWrite.add(d);
  for (const f of files.values()) if (f.level === 'write') needsWrite.add(parentOf(f.path));
  // containsWrite: the directory or something below it must be writable.
  const containsWrite = new Set<string>();
  for (const d of needsWrite) {
    containsWrite.add(d);
    for (let x = d; x !== '';) {
      x = parentOf(x);
      containsWrite.add(x);
    }
  }

  const writableRoots: string[] = [];
  const readOnlyBinds: string[] = [];
  const walk = (dir: string, insideWritable: boolean) => {
    if (!insideWritable && needsWrite.has(dir)) {
      writableRoots.push(dir);
      insideWritable = true;
    }
    for (const name of [...children.get(dir)!].sort()) {
      const p = dir === '' ? name : `${dir}/${name}`;
      const file = files.get(p);
      if (file) {
        if (insideWritable && file.level !== 'write') readOnlyBinds.push(p);
        continue;
      }
      if (!containsWrite.has(p)) {
        if (insideWritable) readOnlyBinds.push(p);
        continue; // nothing writable below: the view is already right for it
      }
      walk(p, insideWritable);
    }
  };
  walk('', false);

  return { engine, files, dirs, children, writableRoots, readOnlyBinds };
}

/** `/output/**` → `output`; `/a/b/*.txt` → `a/b`; directory rules → the directory. */
function literalWriteDirs(rules: readonly NormalizedRule[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    if (r.permission !== 'write') continue;
    if (r.type === 'directory') {
      const d = r.pattern
        .split('/')
        .filter((s) => s && s !== '.')
        .join('/');
      if (d) out.push(d);
      continue;
    }
    if (r.type !== 'glob' || !r.pattern.startsWith('/')) continue;
    const segments = r.pattern.split('/').filter(Boolean);
    const literal: string[] = [];
    for (const s of segments) {
      if (/[*?[\]{}!]/.test(s)) break;
      literal.push(s);
    }
    // A fully literal pattern names a file unless it ended with `/`.
    if (literal.length === segments.length && !r.pattern.endsWith('/')) literal.pop();
    if (literal.length && !literal.includes('..') && !literal.includes('.')) out.push(literal.join('/'));
  }
  return out;
}

export { isUnder, parentOf };
