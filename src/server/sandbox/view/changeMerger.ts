/**
 * Merges a sandbox's layer into its codebase after every command: only paths whose effective
 * permission is `write`, last writer wins. Remembers what it merged (path → fingerprint) so the
 * next merge sends only what changed since.
 *
 * A merge is bounded (mergeLimits.ts) and refuses paths one by one: a path over a bound, or one
 * that cannot coexist with the codebase, is left out with a note for the command's stderr and
 * the rest is merged. Whether a path is refused depends only on what the sandbox can see (its
 * view and rules), never on `none` files: otherwise the answer would tell it they exist.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { CodebaseAccess, CodebaseChange, CodebaseSnapshot } from '../../codebase/contract';
import { normalizeCodebasePath } from '../../../shared/codebasePath';
import type { ChangedFile, WritableLayer } from './writableLayer';
import { openFileBeneath } from './pathBeneath';
import { formatBytes, type MergeLimits } from './mergeLimits';
import { MergeNotes } from './mergeNotes';
import { removeTree } from './treeRemoval';

const DELETED = 'deleted';
const COPY_CHUNK_BYTES = 1 << 20;
/** Paths judged between two yields to the event loop: a sandbox decides how many there are. */
const PATHS_PER_TURN = 500;
/**
 * Changes published per applyChanges call: each call is validated and applied in one
 * synchronous step of the store, so a huge merge goes in parts (each file is still old or new).
 */
const CHANGES_PER_BATCH = 2_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface MergeOutcome {
  written: string[];
  deleted: string[];
  snapshot?: CodebaseSnapshot;
  /** `not merged: …` lines for the command's stderr; '' when nothing was refused. */
  notes: string;
}

export class ChangeMerger {
  private merged = new Map<string, string>();
  /** Paths refused (path → fingerprint): told once, tried again only once they change. */
  private refused = new Map<string, string>();
  private toldTooDeep = new Set<string>();

  constructor(
    private readonly codebaseId: string,
    private readonly store: CodebaseAccess,
    private readonly stagingDir: string,
    private readonly limits: MergeLimits,
  ) {}

  /** The layer was dropped (everything in it had been merged): start remembering afresh. */
  reset(): void {
    this.merged.clear();
    this.refused.clear();
    this.toldTooDeep.clear();
  }

  async merge(layer: WritableLayer, signal?: AbortSignal): Promise<MergeOutcome> {
    const { engine, dirs: viewDirs } = layer.view.plan;
    const { maxBytes, maxFiles, maxDepth, layerQuotaBytes } = this.limits;
    const notes = new MergeNotes();
    const { writes, deletes, tooDeep, layerBytes } = await layer.detectChanges(maxDepth, signal);
    for (const dir of tooDeep) {
      if (this.toldTooDeep.has(dir)) continue;
      this.toldTooDeep.add(dir);
      notes.refuse(dir, `deeper than ${maxDepth} path components (--max-merge-depth): nothing below it is merged`);
    }
    // A file this sandbox created and merged, then removed, is in neither the view nor the layer.
    for (const [path, fp] of this.merged) {
      if (fp !== DELETED && !writes.has(path) && !(await layer.hasFile(path))) deletes.add(path);
    }

    const refuse = (path: string, file: ChangedFile, reason: string) => {
      this.refused.set(path, file.fingerprint);
      notes.refuse(path, reason);
    };
    const candidates: [string, ChangedFile][] = [];
    let turn = 0;
    for (const [path, file] of writes) {
      if (++turn % PATHS_PER_TURN === 0) await nextTurn();
      if (this.merged.get(path) === file.fingerprint || this.refused.get(path) === file.fingerprint) continue;
      if (!validPath(path)) continue;
      // A folder holding a writable file is writable, so a command can make a file beside it
      // that the preset does not let it write: say so rather than drop it unnoticed.
      const level = engine.permissionOf(path);
      if (level !== 'write') refuse(path, file, `the preset makes it ${level}, not write: it stays in the sandbox`);
      else candidates.push([path, file]);
    }

    const accepted: [string, ChangedFile][] = [];
    if (candidates.length > 0) {
      const codebase = this.store.snapshot(this.codebaseId);
      const codebaseDirs = directoriesOf(codebase);
      let layerUsed = layerBytes - candidates.reduce((sum, [, f]) => sum + f.size, 0);
      let mergedBytes = 0;
      const hiddenDirs = new Map<string, boolean>();
      const hidden = (p: string) => {
        let h = hiddenDirs.get(p);
        if (h === undefined) hiddenDirs.set(p, (h = engine.permissionOf(p) === 'none'));
        return h;
      };
      for (const [path, file] of candidates) {
        if (++turn % PATHS_PER_TURN === 0) await nextTurn();
        const conflict = conflictOf(path, viewDirs, codebase, codebaseDirs, hidden);
        if (conflict) refuse(path, file, conflict);
        else if (accepted.length >= maxFiles)
          refuse(path, file, `more than ${maxFiles} files changed in one command (--max-merge-files)`);
        else if (mergedBytes + file.size > maxBytes) {
          refuse(
            path,
            file,
            `${formatBytes(file.size)} would take this merge over ${formatBytes(maxBytes)} (--max-merge-bytes)`,
          );
        } else if (layerUsed + file.size > layerQuotaBytes) {
          refuse(
            path,
            file,
            `${formatBytes(file.size)} would take the sandbox's writable layer over its ${formatBytes(layerQuotaBytes)} quota (--layer-quota)`,
          );
        } else {
          accepted.push([path, file]);
          mergedBytes += file.size;
          layerUsed += file.size;
        }
      }
    }

    const changes: CodebaseChange[] = [];
    const newMemo: [string, string][] = [];
    // The staging dir exists only while something is staged: most commands change nothing.
    let staging = false;
    try {
      for (const [path, file] of accepted) {
        signal?.throwIfAborted();
        if (!staging) {
          await mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
          staging = true;
        }
        const staged = await stageCopy(file, this.stagingDir);
        if (!staged) continue;
        changes.push({ kind: 'write', path, source: staged.path, mode: staged.mode });
        newMemo.push([path, file.fingerprint]);
      }
      for (const path of deletes) {
        if (++turn % PATHS_PER_TURN === 0) await nextTurn();
        if (this.merged.get(path) === DELETED) continue;
        if (!validPath(path) || engine.permissionOf(path) !== 'write') continue;
        changes.push({ kind: 'delete', path });
        newMemo.push([path, DELETED]);
      }
      const text = () => notes.text();
      if (changes.length === 0) return { written: [], deleted: [], notes: text() };
      let snapshot: CodebaseSnapshot | undefined;
      const applied: CodebaseChange[] = [];
      for (let i = 0; i < changes.length; i += CHANGES_PER_BATCH) {
        const batch = changes.slice(i, i + CHANGES_PER_BATCH);
        try {
          snapshot = await this.store.applyChanges(this.codebaseId, batch);
        } catch (err) {
          // The codebase changed under us (an upload made a path conflict since the check):
          // this batch was not applied; the next command's merge checks again.
          if ((err as { code?: number }).code !== status.INVALID_ARGUMENT) throw err;
          notes.refuse(
            `${batch.length} paths`,
            `the codebase changed meanwhile: ${(err as Error).message}; retried after the next command`,
          );
          continue;
        }
        applied.push(...batch);
        for (const [path, fp] of newMemo.slice(i, i + CHANGES_PER_BATCH)) {
          this.merged.set(path, fp);
          this.refused.delete(path);
        }
      }
      return {
        written: applied.filter((c) => c.kind === 'write').map((c) => c.path),
        deleted: applied.filter((c) => c.kind === 'delete').map((c) => c.path),
        snapshot,
        notes: text(),
      };
    } finally {
      // Node's recursive rm blocked the event loop for seconds on a big merge's staging dir.
      if (staging) await removeTree(this.stagingDir);
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

/** Every directory of the codebase (all proper prefixes of its paths). */
function directoriesOf(snapshot: CodebaseSnapshot): Set<string> {
  const dirs = new Set<string>();
  for (const path of snapshot.entries.keys()) {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const dir = path.slice(0, i);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  }
  return dirs;
}

/**
 * Why a file at `path` cannot join the codebase, or undefined. Hidden paths are judged by the
 * rules alone: a parent that is `none` (and not a directory the sandbox sees) refuses the path
 * whether or not a hidden file is there, so the answer tells nothing about hidden files.
 */
function conflictOf(
  path: string,
  viewDirs: ReadonlySet<string>,
  codebase: CodebaseSnapshot,
  codebaseDirs: ReadonlySet<string>,
  hidden: (path: string) => boolean,
): string | undefined {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const parent = path.slice(0, i);
    if (viewDirs.has(parent)) continue;
    if (hidden(parent)) return `"${parent}" is hidden from this sandbox, so nothing is merged beneath it`;
    if (codebase.entries.has(parent))
      return `"${parent}" is a file in the codebase, so nothing can be created beneath it`;
  }
  if (viewDirs.has(path)) return 'it is a directory in the codebase; a directory is not replaced by a file';
  if (codebaseDirs.has(path)) return 'it is a directory in the codebase; a directory is not replaced by a file';
  return undefined;
}

/**
 * Copies a file the sandbox wrote into a server-only staging dir. The file is opened
 * component by component without following symlinks (a still-running process may swap a
 * directory for a symlink to a host directory), and must be a regular file; the store then
 * reads a copy the sandbox can no longer change.
 */
async function stageCopy(file: ChangedFile, stagingDir: string): Promise<{ path: string; mode: number } | undefined> {
  const input = await openFileBeneath(file.base, file.rel);
  if (!input) return undefined;
  try {
    const st = await input.stat();
    const target = join(stagingDir, randomBytes(8).toString('hex'));
    const out = await open(target, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      // The bound was checked against the size seen in the walk; a file still growing is cut
      // there rather than let it take the merge over its bound.
      let left = file.size;
      while (left > 0) {
        const { bytesRead } = await input.read(buf, 0, Math.min(buf.length, left), null);
        if (bytesRead === 0) break;
        await out.write(buf, 0, bytesRead);
        left -= bytesRead;
      }
    } finally {
      await out.close();
    }
    return { path: target, mode: st.mode & 0o777 };
  } finally {
    await input.close();
  }
}
