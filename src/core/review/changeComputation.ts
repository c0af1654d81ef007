/**
 * What the sandbox changed: the codebase now against the upload index. Listing is cheap and
 * hashing needs a download, so this works in two steps: `findChangeCandidates` from metadata
 * alone, then `confirmChanges` downloads only the files whose metadata is ambiguous.
 */
import type { IndexEntry, UploadIndex } from '../sync/uploadIndex';

export type ChangeKind = 'added' | 'modified' | 'deleted';

export interface RemoteFileStat {
  path: string;
  isDir: boolean;
  size: number;
  modifiedAtMs: number;
}

export interface Change {
  path: string;
  kind: ChangeKind;
  /** Size in the codebase (0 for deletions). */
  size: number;
  remoteMtimeMs?: number;
  /** sha256 of the sandbox's version when we downloaded it to confirm. */
  sha256?: string;
}

export interface Candidate extends Change {
  /** Metadata alone proves the change (new/missing path, other size). */
  certain: boolean;
}

export interface CandidateOptions {
  /** Paths hidden by the ignore rules are not reported unless this says otherwise. */
  isIgnored?: (path: string) => boolean;
  showIgnored?: boolean;
  /**
   * Changes the user discarded, by path → signature (`size:mtime` of the sandbox version)
   * so a discarded file does not come back until the sandbox changes it again.
   */
  discarded?: ReadonlyMap<string, string>;
}

export function remoteSignature(size: number, mtimeMs: number | undefined): string {
  return `${size}:${mtimeMs ?? 0}`;
}

export function findChangeCandidates(
  index: UploadIndex,
  remote: readonly RemoteFileStat[],
  options: CandidateOptions = {},
): Candidate[] {
  const skip = (path: string) => !options.showIgnored && (options.isIgnored?.(path) ?? false);
  const out: Candidate[] = [];
  const present = new Set<string>();
  for (const r of remote) {
    if (r.isDir) continue;
    present.add(r.path);
    if (skip(r.path)) continue;
    if (options.discarded?.get(r.path) === remoteSignature(r.size, r.modifiedAtMs)) continue;
    const e: IndexEntry | undefined = index.files[r.path];
    if (!e) {
      out.push({ path: r.path, kind: 'added', size: r.size, remoteMtimeMs: r.modifiedAtMs, certain: true });
    } else if (e.size !== r.size) {
      out.push({ path: r.path, kind: 'modified', size: r.size, remoteMtimeMs: r.modifiedAtMs, certain: true });
    } else if (e.remoteMtimeMs === undefined || r.modifiedAtMs !== e.remoteMtimeMs) {
      // Same size, touched (or never seen): only the bytes can tell.
      out.push({ path: r.path, kind: 'modified', size: r.size, remoteMtimeMs: r.modifiedAtMs, certain: false });
    }
  }
  for (const path of Object.keys(index.files)) {
    if (present.has(path) || skip(path)) continue;
    if (options.discarded?.get(path) === remoteSignature(0, undefined)) continue;
    out.push({ path, kind: 'deleted', size: 0, certain: true });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export interface ConfirmResult {
  changes: Change[];
  /** Files whose content turned out equal to the baseline: their new remote mtime, to remember. */
  sameContent: { path: string; remoteMtimeMs: number }[];
}

export interface ConfirmOptions {
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Changes an earlier refresh confirmed: one whose size and codebase time are unchanged keeps
   * its hash instead of being downloaded again.
   */
  known?: readonly Change[];
}

/** Downloads and hashes the uncertain candidates; equal content is not a change. */
export async function confirmChanges(
  index: UploadIndex,
  candidates: readonly Candidate[],
  hashRemote: (path: string) => Promise<string>,
  { concurrency = 8, signal, known = [] }: ConfirmOptions = {},
): Promise<ConfirmResult> {
  const confirmed = new Map(known.filter((c) => c.sha256 !== undefined).map((c) => [c.path, c]));
  const changes: (Change | undefined)[] = new Array(candidates.length);
  const sameContent: ConfirmResult['sameContent'] = [];
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      signal?.throwIfAborted();
      const i = next++;
      const { certain, ...c } = candidates[i];
      if (certain) {
        changes[i] = c;
        continue;
      }
      const earlier = confirmed.get(c.path);
      const reusable =
        earlier?.size === c.size && earlier.remoteMtimeMs === c.remoteMtimeMs ? earlier.sha256 : undefined;
      const sha256 = reusable ?? (await hashRemote(c.path));
      if (sha256 === index.files[c.path]?.sha256)
        sameContent.push({ path: c.path, remoteMtimeMs: c.remoteMtimeMs ?? 0 });
      else changes[i] = { ...c, sha256 };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, candidates.length) }, worker));
  return { changes: changes.filter((c): c is Change => c !== undefined), sameContent };
}
