/**
 * One codebase on disk and in memory: `<id>/meta.json`, its manifest and journal, and the
 * commit queue through which every change is published.
 *
 * Publishing is group-committed: batches that arrive while a journal write is in flight are
 * validated together against the manifest as it will be, written as one append, and then
 * applied to memory in one synchronous step. Readers therefore never see a change that is
 * not yet in the journal, and concurrent uploads cost one append per group, not per file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, notFound, toRpcError } from '../rpc/rpcError';
import type { CodebaseSnapshot, ManifestEntry } from './contract';
import { type Manifest, type ManifestOp, opPath } from './manifest';
import { ManifestJournal } from './manifestJournal';
import type { Logger } from '../logger';

export interface CodebaseMeta {
  id: string;
  name: string;
  ownerId: string;
  createdAtMs: number;
}

interface MetaFile {
  id: string;
  name: string;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

interface PendingBatch {
  ops: ManifestOp[];
  wantSnapshot: boolean;
  resolve(snapshot: CodebaseSnapshot | undefined): void;
  reject(err: unknown): void;
}

/** Callbacks into the store when a group has been applied to memory. */
export interface PublishHooks {
  onApplied(added: readonly ManifestEntry[], removed: readonly ManifestEntry[]): void;
  /** The server's log: a failure that loses nothing is told there, not thrown. */
  log: Logger;
}

const META_FILE = 'meta.json';

export class StoredCodebase {
  private queue: PendingBatch[] = [];
  private draining: Promise<void> | undefined;
  private deleted = false;

  private constructor(
    readonly dir: string,
    readonly meta: CodebaseMeta,
    readonly manifest: Manifest,
    private readonly journal: ManifestJournal,
    private updatedAt: number,
    private readonly hooks: PublishHooks,
  ) {}

  static async create(dir: string, meta: CodebaseMeta, hooks: PublishHooks): Promise<StoredCodebase> {
    await mkdir(dir, { mode: 0o700 });
    await writeMeta(dir, meta, meta.createdAtMs);
    const { journal, loaded } = await ManifestJournal.load(dir, meta.id);
    return new StoredCodebase(dir, meta, loaded.manifest, journal, meta.createdAtMs, hooks);
  }

  /** Returns undefined for a directory whose create never finished (no meta.json). */
  static async load(dir: string, hooks: PublishHooks): Promise<StoredCodebase | undefined> {
    let text: string;
    try {
      text = await readFile(join(dir, META_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const file = JSON.parse(text) as MetaFile;
    const meta: CodebaseMeta = {
      id: file.id,
      name: file.name,
      ownerId: file.ownerId,
      createdAtMs: Date.parse(file.createdAt),
    };
    const { journal, loaded } = await ManifestJournal.load(dir, meta.id);
    const updatedAt = Math.max(Date.parse(file.updatedAt) || meta.createdAtMs, loaded.updatedAtMs);
    return new StoredCodebase(dir, meta, loaded.manifest, journal, updatedAt, hooks);
  }

  get updatedAtMs(): number {
    return this.updatedAt;
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  /**
   * Publishes one batch atomically: all its changes or none. Within a batch the last change
   * to a path wins and removals are applied before writes, so a batch may turn a file into a
   * directory (remove `a`, write `a/b`). Rejects with INVALID_ARGUMENT on a file/directory
   * conflict, NOT_FOUND if the codebase was deleted meanwhile. With `wantSnapshot`, resolves
   * to the manifest's snapshot right after this batch's group was applied.
   */
  publish(ops: readonly ManifestOp[], wantSnapshot = false): Promise<CodebaseSnapshot | undefined> {
    if (this.deleted) return Promise.reject(this.notFound());
    return new Promise((resolve, reject) => {
      this.queue.push({ ops: orderBatch(ops), wantSnapshot, resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  /** Refuses further changes and waits for the ones in flight to settle. */
  async markDeleted(): Promise<void> {
    this.deleted = true;
    await this.draining;
    await this.journal.close();
  }

  async close(): Promise<void> {
    await this.draining;
    await this.journal.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.commitGroup(group);
      } catch (err) {
        // Unexpected (a bug): fail the group's callers rather than leave them waiting.
        // Promises ignore a second settle, so already-settled batches are unaffected.
        for (const b of group) b.reject(toRpcError(err));
      }
    }
  }

  private async commitGroup(group: PendingBatch[]): Promise<void> {
    if (this.deleted) {
      for (const b of group) b.reject(this.notFound());
      return;
    }
    const accepted = this.validate(group);
    if (accepted.length === 0) return;

    const now = Date.now();
    const first = this.manifest.sequence + 1;
    const numbered = accepted.map((b, i) => ({ seq: first + i, publishedAtMs: now, ops: b.ops }));
    try {
      await this.journal.append(numbered);
    } catch (err) {
      const rpcErr = toRpcError(err);
      for (const b of accepted) b.reject(rpcErr);
      return;
    }
    if (this.deleted) {
      for (const b of accepted) b.reject(this.notFound());
      return;
    }

    const added: ManifestEntry[] = [];
    const removed: ManifestEntry[] = [];
    for (const b of accepted) {
      for (const op of b.ops) {
        const previous = this.manifest.apply(op);
        if (previous) removed.push(previous);
        if ('put' in op) added.push(op.put);
      }
    }
    this.manifest.advanceTo(first + accepted.length - 1);
    this.updatedAt = now;
    this.hooks.onApplied(added, removed);
    // Copying the manifest is O(files), so only for callers that asked for it.
    const snapshot = accepted.some((b) => b.wantSnapshot) ? this.manifest.snapshot() : undefined;
    for (const b of accepted) b.resolve(b.wantSnapshot ? snapshot : undefined);

    if (this.journal.shouldCompact(this.manifest)) {
      try {
        await this.journal.compact(this.manifest, this.updatedAt);
        await writeMeta(this.dir, this.meta, this.updatedAt);
      } catch (err) {
        // The journal still holds everything; compaction is retried after the next group.
        this.hooks.log.warn('codebase journal compaction failed; retried after the next upload', {
          codebase: this.meta.id,
          error: (err as Error).message,
        });
      }
    }
  }

  /**
   * Checks each batch against the manifest as the earlier batches of the group leave it, by
   * applying it tentatively and undoing everything before returning (synchronously, so no
   * reader sees the tentative state).
   */
  private validate(group: PendingBatch[]): PendingBatch[] {
    const restoreSnapshot = this.manifest.keepSnapshotAcrossTrial();
    const accepted: PendingBatch[] = [];
    const undo: Array<[path: string, previous: ManifestEntry | undefined]> = [];
    for (const batch of group) {
      const mark = undo.length;
      try {
        for (const op of batch.ops) {
          if ('put' in op) {
            const conflict = this.manifest.fileConflict(op.put.path);
            if (conflict) throw invalidArgument(`invalid path ${JSON.stringify(op.put.path)}: ${conflict}`);
          }
          undo.push([opPath(op), this.manifest.apply(op)]);
        }
        accepted.push(batch);
      } catch (err) {
        while (undo.length > mark) {
          const [path, previous] = undo.pop()!;
          this.manifest.set(path, previous);
        }
        batch.reject(err);
      }
    }
    while (undo.length > 0) {
      const [path, previous] = undo.pop()!;
      this.manifest.set(path, previous);
    }
    restoreSnapshot();
    return accepted;
  }

  private notFound() {
    return notFound(`codebase ${this.meta.id} not found`);
  }
}

/** Last change per path wins; removals first, then writes. */
function orderBatch(ops: readonly ManifestOp[]): ManifestOp[] {
  const last = new Map<string, ManifestOp>();
  for (const op of ops) {
    const path = opPath(op);
    last.delete(path);
    last.set(path, op);
  }
  const all = [...last.values()];
  return [...all.filter((op) => !('put' in op)), ...all.filter((op) => 'put' in op)];
}

async function writeMeta(dir: string, meta: CodebaseMeta, updatedAtMs: number): Promise<void> {
  const file: MetaFile = {
    id: meta.id,
    name: meta.name,
    ownerId: meta.ownerId,
    createdAt: new Date(meta.createdAtMs).toISOString(),
    updatedAt: new Date(updatedAtMs).toISOString(),
  };
  const tmp = join(dir, `${META_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(file, null, 2));
  await rename(tmp, join(dir, META_FILE));
}
