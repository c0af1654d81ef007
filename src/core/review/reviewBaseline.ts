/**
 * A folder's review baseline, owned in one place: the upload index (what the workspace last
 * put into the codebase, with the codebase's own times), the changes the user discarded and
 * the current change set. Sync, refresh, accept and discard all change it through `edit`,
 * which runs them one at a time, so an Accept never interleaves with an upload of the same
 * folder. Persisted write-then-rename: a crash never leaves a truncated file. Another process
 * may share the file (VS Code and the MCP server, on the same folder): each edit first reads
 * it again if it changed on disk since this process last read or wrote it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, watch } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Emitter, type Subscription } from '../events';
import { parseIndex, type UploadIndex } from '../sync/uploadIndex';
import type { WorkspaceRoot } from '../workspaceRoot';
import type { Change } from './changeComputation';

/** What `edit` hands its function: change it in place; `save()` asks for a write at the end. */
export interface BaselineDraft {
  index: UploadIndex | undefined;
  /** path → signature of the sandbox version the user discarded (see remoteSignature). */
  discarded: Record<string, string>;
  changes: Change[];
  save(): void;
}

interface PersistedBaseline extends UploadIndex {
  discarded?: Record<string, string>;
  /** The last change set, so a reopened window shows pending changes before it reaches a server. */
  changes?: Change[];
}

export class FolderBaseline {
  private index: UploadIndex | undefined;
  private discarded: Record<string, string> = {};
  private currentChanges: readonly Change[] = [];
  /** The file as this process last read or wrote it (mtime, size, inode), '' before that. */
  private diskStamp = '';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changed = new Emitter<FolderBaseline>();
  /** Fires after an edit ends (index, discarded or changes may differ). */
  readonly onDidChange = this.changed.event;

  constructor(
    readonly root: WorkspaceRoot,
    private readonly file: string,
  ) {}

  /** The index as last saved (undefined: never uploaded). Read-only: change it through `edit`. */
  async current(): Promise<{ index: Readonly<UploadIndex> | undefined; discarded: Readonly<Record<string, string>> }> {
    await this.load();
    return { index: this.index, discarded: this.discarded };
  }

  get changes(): readonly Change[] {
    return this.currentChanges;
  }

  /** The codebase the baseline is of, once loaded (`current()` loads it). */
  get codebaseId(): string | undefined {
    return this.index?.codebaseId;
  }

  /** The one writer: `fn` runs after every earlier edit of this folder has ended. */
  edit<T>(fn: (draft: BaselineDraft) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await this.load();
      let save = false;
      const draft: BaselineDraft = {
        // A copy, so an edit that throws half-way leaves nothing half-changed behind.
        index: this.index && structuredClone(this.index),
        discarded: { ...this.discarded },
        changes: [...this.currentChanges],
        save: () => (save = true),
      };
      const result = await fn(draft);
      // Only a completed edit is taken: one that threw leaves the baseline as it was.
      this.index = draft.index;
      this.discarded = draft.discarded;
      this.currentChanges = draft.changes;
      if (save) await this.persist();
      this.changed.fire(this);
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Takes another process's edit of the file (the MCP server refreshed the change set): reads
   * it, after any edit in progress, and fires onDidChange when it was not ours.
   */
  async reloadIfChangedOnDisk(): Promise<void> {
    const run = async () => {
      if (await this.load()) this.changed.fire(this);
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    await next;
  }

  /**
   * Reads the file when it is not what this process last read or wrote (first use, another
   * process's edit). True when it read it.
   */
  private async load(): Promise<boolean> {
    const now = await this.stampOnDisk();
    if (now === this.diskStamp) return false;
    try {
      const persisted = parseIndex(JSON.parse(await readFile(this.file, 'utf8'))) as PersistedBaseline | undefined;
      if (persisted) {
        const { discarded, changes, ...index } = persisted;
        this.index = index;
        this.discarded = discarded ?? {};
        this.currentChanges = Array.isArray(changes) ? changes : [];
      }
    } catch {
      // none yet, or unreadable: "never uploaded", the next sync starts afresh
    }
    this.diskStamp = now;
    return true;
  }

  private async stampOnDisk(): Promise<string> {
    try {
      const s = await stat(this.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'none';
    }
  }

  private async persist(): Promise<void> {
    if (!this.index) return;
    this.index.updatedAt = Date.now();
    const persisted: PersistedBaseline = {
      ...this.index,
      discarded: this.discarded,
      changes: [...this.currentChanges],
    };
    await mkdir(join(this.file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(persisted), { mode: 0o600 });
    await rename(tmp, this.file);
    this.diskStamp = await this.stampOnDisk();
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * The baselines of every folder, one file each under `dir`. Codebase ids mean something on one
 * server only, so a baseline is keyed by `scope()` (the endpoint) as well as the folder.
 */
export class BaselineStore {
  private readonly baselines = new Map<string, FolderBaseline>();

  constructor(
    private readonly dir: string,
    private readonly scope: () => string,
  ) {}

  of(root: WorkspaceRoot): FolderBaseline {
    const key = createHash('sha256').update(`${this.scope()}\0${root.path}`).digest('hex').slice(0, 24);
    let baseline = this.baselines.get(key);
    if (!baseline) {
      baseline = new FolderBaseline(root, join(this.dir, `${key}.json`));
      this.baselines.set(key, baseline);
    }
    return baseline;
  }

  /**
   * Follows edits other processes make to the baselines this store has handed out (the MCP
   * server on a folder VS Code shows): each such baseline reloads and fires onDidChange.
   */
  watchOtherWriters(): Subscription {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const pending = new Map<string, NodeJS.Timeout>();
    const watcher = watch(this.dir, (_event, name) => {
      const key = typeof name === 'string' && /^([0-9a-f]{24})\.json$/.exec(name)?.[1];
      const baseline = key ? this.baselines.get(key) : undefined;
      if (!key || !baseline) return;
      // A rename arrives as several events: one reload once they settle.
      clearTimeout(pending.get(key));
      pending.set(
        key,
        setTimeout(() => {
          pending.delete(key);
          void baseline.reloadIfChangedOnDisk().catch(() => undefined);
        }, 50),
      );
    });
    watcher.on('error', () => undefined);
    return {
      dispose: () => {
        watcher.close();
        for (const t of pending.values()) clearTimeout(t);
      },
    };
  }

  dispose(): void {
    for (const b of this.baselines.values()) b.dispose();
  }
}
