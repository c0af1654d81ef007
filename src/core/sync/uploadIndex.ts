/**
 * The upload index: what the extension last put into a folder's codebase. It makes an
 * unchanged workspace cost nothing to re-upload, and it is the baseline the change review
 * compares the sandbox's codebase against (persisted by review/reviewBaseline.ts).
 */

export interface IndexEntry {
  size: number;
  /** Local mtime when uploaded. */
  mtimeMs: number;
  /** sha256 (hex) of exactly the bytes uploaded. */
  sha256: string;
  /**
   * The codebase's modifiedAt for this file right after the upload (server clock), so the
   * review can tell "the sandbox touched it" without comparing clocks of two machines.
   */
  remoteMtimeMs?: number;
}

export interface UploadIndex {
  version: 1;
  codebaseId: string;
  /** Absolute folder path the codebase mirrors. */
  folder: string;
  updatedAt: number;
  files: Record<string, IndexEntry>;
}

export interface LocalFileStat {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface UploadPlan {
  /** The whole folder must go into a fresh codebase (first upload, or a local deletion). */
  fresh: boolean;
  freshReason?: 'first-upload' | 'deleted-locally' | 'codebase-missing';
  /** Paths deleted locally since the last upload. */
  deleted: string[];
  /** Files whose size or mtime differ from the index: hash them, upload if the hash differs. */
  candidates: LocalFileStat[];
  /** Files that look untouched. */
  unchanged: string[];
}

export function emptyIndex(codebaseId: string, folder: string): UploadIndex {
  return { version: 1, codebaseId, folder, updatedAt: Date.now(), files: {} };
}

/** Accepts whatever was persisted; anything unreadable counts as "no index". */
export function parseIndex(value: unknown): UploadIndex | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Partial<UploadIndex>;
  if (v.version !== 1 || typeof v.codebaseId !== 'string' || !v.files || typeof v.files !== 'object') return undefined;
  return v as UploadIndex;
}

export function planUpload(index: UploadIndex | undefined, local: readonly LocalFileStat[]): UploadPlan {
  if (!index) return { fresh: true, freshReason: 'first-upload', deleted: [], candidates: [...local], unchanged: [] };
  const seen = new Set<string>();
  const candidates: LocalFileStat[] = [];
  const unchanged: string[] = [];
  for (const f of local) {
    seen.add(f.path);
    const e = index.files[f.path];
    if (e && e.size === f.size && e.mtimeMs === f.mtimeMs) unchanged.push(f.path);
    else candidates.push(f);
  }
  const deleted = Object.keys(index.files).filter((p) => !seen.has(p));
  if (deleted.length > 0) {
    // The protocol has no delete-file RPC: the only way to drop a file is a new codebase.
    return { fresh: true, freshReason: 'deleted-locally', deleted, candidates: [...local], unchanged: [] };
  }
  return { fresh: false, deleted, candidates, unchanged };
}

/** Whether a local file still matches what was uploaded (for "workspace changed since upload"). */
export function matchesIndex(
  entry: IndexEntry | undefined,
  stat: { size: number; mtimeMs: number } | undefined,
): boolean {
  if (!entry) return stat === undefined;
  return stat !== undefined && stat.size === entry.size && stat.mtimeMs === entry.mtimeMs;
}
