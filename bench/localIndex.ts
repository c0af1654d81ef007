/**
 * Walk + index comparison for the upload scenario: which files differ (size or mtime)
 * from the last upload. Stands in for the extension's own upload index until the bench
 * can call it; the work is the same (one lstat per file, one map lookup).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export interface WalkedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export async function walkStat(root: string): Promise<WalkedFile[]> {
  const out: WalkedFile[] = [];
  const visit = async (rel: string) => {
    const entries = await fs.readdir(join(root, rel), { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) return visit(p);
        if (!e.isFile()) return;
        const st = await fs.lstat(join(root, p));
        out.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
      }),
    );
  };
  await visit('');
  return out;
}

export type LocalIndex = Map<string, { size: number; mtimeMs: number }>;

export function buildIndex(files: readonly WalkedFile[]): LocalIndex {
  return new Map(files.map((f) => [f.path, { size: f.size, mtimeMs: f.mtimeMs }]));
}

export function changedSince(index: LocalIndex, files: readonly WalkedFile[]): WalkedFile[] {
  return files.filter((f) => {
    const known = index.get(f.path);
    return !known || known.size !== f.size || known.mtimeMs !== f.mtimeMs;
  });
}
