/**
 * Which sandbox changes the review hides by default: the same rules the upload uses at the
 * folder root (client defaults, root .gitignore/.sandboxignore, `agentfense.ignore`), so
 * build caches a command writes (node_modules, __pycache__) do not flood the list.
 * Nested ignore files are not read here (the walker honours them for uploads).
 */
import ignore from 'ignore';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_IGNORES, IGNORE_FILE_NAMES } from '../sync/workspaceWalker';

export type IgnoreMatcher = (path: string) => boolean;

export function buildIgnoreMatcher(rootIgnoreFiles: readonly string[], extra: readonly string[]): IgnoreMatcher {
  const ig = ignore().add([...DEFAULT_IGNORES]);
  for (const text of rootIgnoreFiles) ig.add(text);
  ig.add([...extra]);
  return (path) => {
    try {
      return ig.ignores(path);
    } catch {
      return false; // a path `ignore` refuses (absolute, ..) is not ours to hide
    }
  };
}

export async function loadIgnoreMatcher(dir: string, extra: readonly string[]): Promise<IgnoreMatcher> {
  const texts: string[] = [];
  for (const name of IGNORE_FILE_NAMES) {
    try {
      texts.push(await readFile(join(dir, name), 'utf8'));
    } catch {
      // absent
    }
  }
  return buildIgnoreMatcher(texts, extra);
}
