/**
 * Merges a sandbox's layer into its codebase after every command: only paths whose effective
 * permission is `write`, last writer wins. Remembers what it merged (path → fingerprint) so the
 * next merge sends only what changed since.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CodebaseAccess, CodebaseChange, CodebaseSnapshot } from '../codebase/contract';
import { normalizeCodebasePath } from '../../shared/codebasePath';
import type { WritableLayer } from './writableLayer';
import { openFileBeneath } from './pathBeneath';

const DELETED = 'deleted';

export interface MergeOutcome {
  written: string[];
  deleted: string[];
  snapshot?: CodebaseSnapshot;
}

export class ChangeMerger {
  private merged = new Map<string, string>();

  constructor(
    private readonly codebaseId: string,
    private readonly store: CodebaseAccess,
    private readonly stagingDir: string,
  ) {}

  /** The layer was dropped (everything in it had been merged): start remembering afresh. */
  reset(): void {
    this.merged.clear();
  }

  async merge(layer: WritableLayer): Promise<MergeOutcome> {
    const { engine } = layer.view.plan;
    const { writes, deletes } = layer.detectChanges();
    // A file this sandbox created and merged, then removed, is in neither the view nor the layer.
    for (const [path, fp] of this.merged) {
      if (fp !== DELETED && !writes.has(path) && !layer.hasFile(path)) deletes.add(path);
    }
    const changes: CodebaseChange[] = [];
    const newMemo: [string, string][] = [];
    // The staging dir exists only while something is staged: most commands change nothing.
    let staging = false;
    try {
      for (const [path, file] of writes) {
        if (this.merged.get(path) === file.fingerprint) continue;
        if (!validPath(path) || engine.permissionOf(path) !== 'write') continue;
        if (!staging) {
          fs.mkdirSync(this.stagingDir, { recursive: true, mode: 0o700 });
          staging = true;
        }
        const staged = stageCopy(file.base, file.rel, this.stagingDir);
        if (!staged) continue;
        changes.push({ kind: 'write', path, source: staged.path, mode: staged.mode });
        newMemo.push([path, file.fingerprint]);
      }
      for (const path of deletes) {
        if (this.merged.get(path) === DELETED) continue;
        if (!validPath(path) || engine.permissionOf(path) !== 'write') continue;
        changes.push({ kind: 'delete', path });
        newMemo.push([path, DELETED]);
      }
      if (changes.length === 0) return { written: [], deleted: [] };
      const snapshot = await this.store.applyChanges(this.codebaseId, changes);
      for (const [path, fp] of newMemo) this.merged.set(path, fp);
      return {
        written: changes.filter((c) => c.kind === 'write').map((c) => c.path),
        deleted: changes.filter((c) => c.kind === 'delete').map((c) => c.path),
        snapshot,
      };
    } finally {
      if (staging) fs.rmSync(this.stagingDir, { recursive: true, force: true });
    }
  }
}

function validPath(path: string): boolean {
  try {
    return normalizeCodebasePath(path) === path;
  } catch {
    return false;
  }
}

/**
 * Copies a file the sandbox wrote into a server-only staging dir. The file is opened
 * component by component without following symlinks (a still-running process may swap a
 * directory for a symlink to a host directory), and must be a regular file; the store then
 * reads a copy the sandbox can no longer change.
 */
function stageCopy(base: string, rel: string, stagingDir: string): { path: string; mode: number } | undefined {
  const fd = openFileBeneath(base, rel);
  if (fd === undefined) return undefined;
  try {
    const st = fs.fstatSync(fd);
    const target = join(stagingDir, randomBytes(8).toString('hex'));
    const out = fs.openSync(target, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        fs.writeSync(out, buf, 0, n);
      }
    } finally {
      fs.closeSync(out);
    }
    return { path: target, mode: st.mode & 0o777 };
  } finally {
    fs.closeSync(fd);
  }
}
