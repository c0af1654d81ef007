/**
 * What the sandbox runtime needs from the codebase store. The store (store.ts) implements
 * it; the sandbox side depends on this interface only.
 */

/** One file of a codebase. Paths are normalised codebase paths (`src/a.py`). */
export interface ManifestEntry {
  path: string;
  size: number;
  /** Permission bits only (e.g. 0o644, 0o755). */
  mode: number;
  /** Hex sha256 of the content; also the blob's name in the content-addressed store. */
  digest: string;
  mtimeMs: number;
}

/** An immutable snapshot of a codebase's files. */
export interface CodebaseSnapshot {
  codebaseId: string;
  /** Changes whenever any file is added, changed or deleted; equal versions mean equal content. */
  version: string;
  entries: ReadonlyMap<string, ManifestEntry>;
}

/** A change a sandbox made, to be applied to the codebase. */
export type CodebaseChange =
  | { kind: 'write'; path: string; /** absolute host path to read the new content from */ source: string; mode: number }
  | { kind: 'delete'; path: string };

export interface CodebaseAccess {
  /** Throws RpcError NOT_FOUND for an unknown id. */
  snapshot(codebaseId: string): CodebaseSnapshot;
  /**
   * Absolute host path of a blob in the content-addressed store, for content with this
   * digest and mode (the executable bit is part of a blob's identity so that hard links carry
   * the right mode). Blobs are immutable: hard-link or read them, never write to them.
   */
  blobPath(digest: string, mode?: number): string;
  /**
   * Applies changes (content is copied into the store first) and publishes them in one
   * atomic step. Returns the new snapshot. Deleting a missing path is not an error.
   */
  applyChanges(codebaseId: string, changes: readonly CodebaseChange[]): Promise<CodebaseSnapshot>;
  /** Calls `listener` after every change of any codebase (upload, merge, delete). */
  onDidChange(listener: (codebaseId: string) => void): void;
}
