/**
 * Workspace folder → codebase. Walks the folder, compares it with the upload index and
 * uploads only what changed; a local deletion means a fresh codebase (the protocol has no
 * delete-file RPC). The index is the review's baseline, so a sync is one edit of it: it never
 * interleaves with an Accept or Discard of the same folder.
 */
import { performance } from 'node:perf_hooks';
import { userInfo } from 'node:os';
import type { SandboxBackend } from '../backend';
import { CancelledError } from '../cancelled';
import { Emitter } from '../events';
import type { BaselineDraft, BaselineStore } from '../review/reviewBaseline';
import type { CoreLog, WorkspaceRoot } from '../workspaceRoot';
import { formatBytes } from '../formatBytes';
import { emptyIndex, planUpload, type UploadIndex, type UploadPlan } from './uploadIndex';
import { selectUploads } from './uploadSelection';
import { FolderWatch } from './folderWatch';
import { walkWorkspace, type LocalFile } from './workspaceWalker';

/** Which client and user made a codebase (the server requires an owner). */
export function codebaseOwner(client: string): string {
  let user = 'user';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return `${client}:${user}`;
}

export interface SyncResult {
  index: UploadIndex;
  walkedFiles: number;
  uploadedFiles: number;
  uploadedBytes: number;
  fresh: boolean;
  /** Milliseconds per phase, in order (the bench reports them). */
  phasesMs: { walk: number; plan: number; hash: number; upload: number; listFiles: number };
}

export interface UploadReport {
  message: string;
  /** 0..1 of the bytes (or files) to send. */
  fraction: number;
}

/** Shows a long upload (the extension: a cancellable notification) and runs it. */
export type ProgressRunner = <T>(
  title: string,
  task: (report: (progress: UploadReport) => void, signal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
) => Promise<T>;

/** Asked before an upload replaces sandbox changes nobody reviewed; false cancels the upload. */
export type OverwriteConfirmation = (
  root: WorkspaceRoot,
  pending: readonly string[],
  freshCodebase: boolean,
) => Promise<boolean>;

export interface WorkspaceSyncOptions {
  /** Which client makes codebases: part of their owner and name (`vscode`, `mcp`, `bench`). */
  client: string;
  /** Extra ignore patterns, read at each sync (a setting may change). */
  ignore: () => readonly string[];
  log: CoreLog;
  progress?: ProgressRunner;
  confirmOverwrite?: OverwriteConfirmation;
  /**
   * Watch each synced folder, so that a sync that may trust the codebase (`codebaseKnown`)
   * skips the walk when nothing changed (the MCP server: every run syncs first).
   */
  watchFolders?: boolean;
}

const runWithoutUi: ProgressRunner = (_title, task, signal) => task(() => undefined, signal);

export class WorkspaceSync {
  private readonly running = new Map<string, Promise<SyncResult>>();
  private readonly watches = new Map<string, FolderWatch>();
  /** The `include` each folder's last walk had: a walk with other includes finds other files. */
  private readonly lastInclude = new Map<string, string>();
  private readonly uploaded = new Emitter<WorkspaceRoot>();
  /** Fires after a folder's codebase changed (upload, fresh codebase). */
  readonly onDidUpload = this.uploaded.event;

  constructor(
    private readonly backend: SandboxBackend,
    private readonly baselines: BaselineStore,
    private readonly options: WorkspaceSyncOptions,
  ) {}

  /**
   * Uploads what changed (one upload per folder at a time; callers share it). `codebaseKnown`:
   * the caller is about to use the codebase anyway and handles its absence, so the check that
   * it still exists (a call) is skipped. `include`: paths (`/.env`) uploaded even when an ignore
   * rule leaves them out (a preset grants them by name).
   */
  sync(
    root: WorkspaceRoot,
    options: { signal?: AbortSignal; codebaseKnown?: boolean; include?: readonly string[] } = {},
  ): Promise<SyncResult> {
    const include = [...(options.include ?? [])].sort();
    // Callers share a running upload only when it uploads the same files.
    const key = `${root.path}\0${include.join('\0')}`;
    let p = this.running.get(key);
    if (!p) {
      p = this.baselines
        .of(root)
        .edit((draft) => this.syncLocked(root, draft, options.signal, options.codebaseKnown ?? false, include))
        .catch((e: unknown) => {
          // Whatever failed after the walk, the codebase may not match it: walk next time.
          this.watches.get(key)?.walkFailed();
          throw e;
        })
        .then((result) => {
          // After the edit ended, so a listener reads the new baseline.
          if (result.fresh || result.uploadedFiles > 0) this.uploaded.fire(root);
          return result;
        })
        .finally(() => this.running.delete(key));
      this.running.set(key, p);
    }
    return p;
  }

  private async syncLocked(
    root: WorkspaceRoot,
    draft: BaselineDraft,
    signal: AbortSignal | undefined,
    codebaseKnown: boolean,
    include: readonly string[],
  ): Promise<SyncResult> {
    const t0 = performance.now();
    let watch: FolderWatch | undefined;
    const includeKey = include.join('\0');
    const sameInclude = this.lastInclude.get(root.path) === includeKey;
    this.lastInclude.set(root.path, includeKey);
    if (this.options.watchFolders) {
      watch = this.watches.get(root.path) ?? new FolderWatch();
      this.watches.set(root.path, watch);
      if (codebaseKnown && sameInclude && draft.index && (await watch.isClean())) {
        const phasesMs = { walk: 0, plan: 0, hash: 0, upload: 0, listFiles: 0 };
        return { index: draft.index, walkedFiles: 0, uploadedFiles: 0, uploadedBytes: 0, fresh: false, phasesMs };
      }
      watch.walkStarts();
    }
    let files: LocalFile[];
    try {
      files = await walkWorkspace(root.path, {
        // Later patterns win: a `!` pattern takes a file back from the ignore rules before it.
        ignore: [...this.options.ignore(), ...include.map(reincluded)],
        signal,
        onDirectory: watch && ((dir) => watch.watchDirectory(dir)),
      });
    } catch (e) {
      watch?.walkFailed();
      throw e;
    }
    const t1 = performance.now();
    let index = draft.index;
    if (index && !codebaseKnown && !(await this.backend.hasCodebase(index.codebaseId))) {
      this.options.log.info(
        `Codebase ${index.codebaseId} of ${root.name} no longer exists on the server; uploading afresh.`,
      );
      index = undefined;
    }
    const plan = planUpload(index, files);
    const t2 = performance.now();
    const toUpload = await selectUploads(plan, files, index, signal);
    const t3 = performance.now();
    const phasesMs = { walk: t1 - t0, plan: t2 - t1, hash: t3 - t2, upload: 0, listFiles: 0 };

    if (!plan.fresh && toUpload.length === 0) {
      if (plan.candidates.length > 0) {
        // Touched but identical: remember the new times so the next sync does not hash them.
        for (const c of plan.candidates)
          index!.files[c.path] = { ...index!.files[c.path]!, size: c.size, mtimeMs: c.mtimeMs };
        draft.save();
      }
      this.options.log.debug(
        `${root.name}: nothing to upload (${files.length} files checked in ${Math.round(t3 - t0)} ms)`,
      );
      return { index: index!, walkedFiles: files.length, uploadedFiles: 0, uploadedBytes: 0, fresh: false, phasesMs };
    }

    await this.confirmOverwrite(root, draft.changes, plan.fresh ? 'all' : toUpload.map((f) => f.path));
    const progress = this.options.progress ?? runWithoutUi;
    const result = await progress(
      uploadTitle(root, plan, toUpload.length),
      (report, taskSignal) =>
        this.upload(root, plan.fresh ? undefined : index, toUpload, files, report, taskSignal ?? signal),
      signal,
    );
    const t4 = performance.now();
    await this.recordRemoteTimes(result.index, new Set(toUpload.map((f) => f.path)));
    const t5 = performance.now();
    draft.index = result.index;
    if (result.fresh) {
      // A new codebase holds none of what was discarded, and nothing is pending in it yet.
      draft.discarded = {};
      draft.changes = [];
    }
    draft.save();
    const uploadedBytes = toUpload.reduce((n, f) => n + f.size, 0);
    this.options.log.info(
      `${root.name}: uploaded ${toUpload.length} files (${formatBytes(uploadedBytes)}) to ${result.index.codebaseId} in ${Math.round(t5 - t0)} ms`,
    );
    return {
      index: result.index,
      walkedFiles: files.length,
      uploadedFiles: toUpload.length,
      uploadedBytes,
      fresh: result.fresh,
      phasesMs: { ...phasesMs, upload: t4 - t3, listFiles: t5 - t4 },
    };
  }

  private async confirmOverwrite(
    root: WorkspaceRoot,
    pendingChanges: readonly { path: string }[],
    overwritten: string[] | 'all',
  ): Promise<void> {
    if (!this.options.confirmOverwrite || pendingChanges.length === 0) return;
    const replaced = overwritten === 'all' ? undefined : new Set(overwritten);
    const pending = pendingChanges.map((c) => c.path).filter((p) => !replaced || replaced.has(p));
    if (pending.length === 0) return;
    if (!(await this.options.confirmOverwrite(root, pending, overwritten === 'all'))) {
      throw new CancelledError(`Upload of ${root.name} cancelled: it would replace sandbox changes not yet reviewed.`);
    }
  }

  private async upload(
    root: WorkspaceRoot,
    previous: UploadIndex | undefined,
    toUpload: LocalFile[],
    allFiles: LocalFile[],
    report: (progress: UploadReport) => void,
    signal: AbortSignal | undefined,
  ): Promise<{ index: UploadIndex; fresh: boolean }> {
    const index =
      previous ??
      emptyIndex(
        (await this.backend.createCodebase(`${this.options.client}:${root.name}`, codebaseOwner(this.options.client)))
          .id,
        root.path,
      );
    const totalBytes = toUpload.reduce((n, f) => n + f.size, 0);
    const stored = await this.backend.uploadFiles(index.codebaseId, toUpload, {
      signal,
      onProgress: (p) =>
        report({
          message: `${p.filesDone}/${p.filesTotal} files · ${formatBytes(p.bytesDone)} of ${formatBytes(totalBytes)}`,
          fraction: totalBytes > 0 ? p.bytesDone / totalBytes : p.filesDone / Math.max(1, p.filesTotal),
        }),
    });
    // Only now record the files: a cancelled upload leaves the index pointing at what's known.
    const uploaded = new Set(toUpload.map((f) => f.path));
    for (const f of allFiles) {
      const known = index.files[f.path];
      if (!uploaded.has(f.path) && known) index.files[f.path] = { ...known, size: f.size, mtimeMs: f.mtimeMs };
    }
    // The backend's sha256 of what it stored: exactly the bytes uploaded, hashed once.
    toUpload.forEach(
      (f, i) => (index.files[f.path] = { size: f.size, mtimeMs: f.mtimeMs, sha256: stored[i]!.checksum }),
    );
    return { index, fresh: !previous };
  }

  /** Remembers the codebase's time of just-written files: the review's "untouched" marker. */
  async recordRemoteTimes(index: UploadIndex, paths: ReadonlySet<string>): Promise<void> {
    if (paths.size === 0) return;
    for (const r of (await this.backend.listFiles(index.codebaseId)) ?? []) {
      const e = index.files[r.path];
      if (e && paths.has(r.path) && r.size === e.size) e.remoteMtimeMs = r.modifiedAt?.getTime();
    }
  }

  dispose(): void {
    for (const w of this.watches.values()) w.close();
    this.uploaded.dispose();
  }
}

function uploadTitle(root: WorkspaceRoot, plan: UploadPlan, files: number): string {
  if (!plan.fresh) return `AgentFense: uploading ${files} changed file${files === 1 ? '' : 's'} of ${root.name}`;
  return plan.freshReason === 'deleted-locally'
    ? `AgentFense: files were deleted in ${root.name}, uploading it into a new codebase`
    : `AgentFense: uploading ${root.name}`;
}

/** A gitignore line that takes back exactly this path (`/a[1].env` → `!/a\[1\].env`): a name is not a glob. */
export function reincluded(path: string): string {
  const literal = path.replace(/[\\*?[\]]/g, '\\$&').replace(/ +$/, (spaces) => '\\ '.repeat(spaces.length));
  return `!/${literal.replace(/^\/+/, '')}`;
}
