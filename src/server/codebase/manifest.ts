/**
 * One codebase's files in memory: path → entry, plus an index of the directories the file
 * paths imply, so file-vs-directory conflicts and listings need no disk access.
 */
import type { CodebaseSnapshot, ManifestEntry } from './contract';

/** One change as the journal records it. */
export type ManifestOp = { put: ManifestEntry } | { remove: string };

export function opPath(op: ManifestOp): string {
  return 'put' in op ? op.put.path : op.remove;
}

export class Manifest {
  private readonly files = new Map<string, ManifestEntry>();
  /** Directory path → number of files beneath it at any depth. The root ('') is not stored. */
  private readonly dirs = new Map<string, number>();
  private bytes = 0;
  private seq = 0;
  /** The last snapshot handed out; dropped on any change so snapshot() is O(1) when idle. */
  private cached: CodebaseSnapshot | undefined;

  constructor(readonly codebaseId: string) {}

  /** Number of the last journal batch applied; part of the version. */
  get sequence(): number {
    return this.seq;
  }

  get fileCount(): number {
    return this.files.size;
  }

  get totalSize(): number {
    return this.bytes;
  }

  get(path: string): ManifestEntry | undefined {
    return this.files.get(path);
  }

  isDirectory(path: string): boolean {
    return path === '' || this.dirs.has(path);
  }

  entries(): IterableIterator<ManifestEntry> {
    return this.files.values();
  }

  /** Why a file cannot be stored at `path`, or undefined if it can. */
  fileConflict(path: string): string | undefined {
    if (this.dirs.has(path)) return `"${path}" is a directory, it cannot become a file`;
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const parent = path.slice(0, i);
      if (this.files.has(parent)) return `"${parent}" is a file, so "${path}" cannot be created beneath it`;
    }
    return undefined;
  }

  /** Stores or removes (entry undefined) one path; returns what was there, so callers can undo. */
  set(path: string, entry: ManifestEntry | undefined): ManifestEntry | undefined {
    const previous = this.files.get(path);
    if (entry) {
      this.files.set(path, entry);
      if (!previous) this.countInDirs(path, +1);
      this.bytes += entry.size - (previous?.size ?? 0);
    } else if (previous) {
      this.files.delete(path);
      this.countInDirs(path, -1);
      this.bytes -= previous.size;
    }
    if (previous !== entry) this.cached = undefined;
    return previous;
  }

  apply(op: ManifestOp): ManifestEntry | undefined {
    return 'put' in op ? this.set(op.put.path, op.put) : this.set(op.remove, undefined);
  }

  /** Marks the manifest as being at journal batch `seq`; the version changes with it. */
  advanceTo(seq: number): void {
    if (seq === this.seq) return;
    this.seq = seq;
    this.cached = undefined;
  }

  /**
   * For validation by trial (apply, then undo): returns a function that, once the trial's
   * changes are undone, puts back the snapshot cached before, keeping snapshot() O(1).
   */
  keepSnapshotAcrossTrial(): () => void {
    const cached = this.cached;
    const seq = this.seq;
    return () => {
      if (this.seq === seq) this.cached = cached;
    };
  }

  snapshot(): CodebaseSnapshot {
    this.cached ??= Object.freeze({
      codebaseId: this.codebaseId,
      version: `${this.codebaseId}@${this.seq}`,
      entries: new Map(this.files),
    });
    return this.cached;
  }

  private countInDirs(path: string, delta: 1 | -1): void {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const dir = path.slice(0, i);
      const count = (this.dirs.get(dir) ?? 0) + delta;
      if (count > 0) this.dirs.set(dir, count);
      else this.dirs.delete(dir);
    }
  }
}
