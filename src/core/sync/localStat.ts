import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkspaceRoot } from '../workspaceRoot';

/** A workspace file's current size and mtime; undefined when it does not exist. */
export async function localStat(
  root: WorkspaceRoot,
  path: string,
): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const st = await stat(join(root.path, path));
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}
