/**
 * Workspace folder → codebase. Walks the folder, compares it with the upload index and
 * uploads only what changed; a local deletion means a fresh codebase (the protocol has no
 * delete-file RPC). The index it keeps is also the baseline of the change review.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import * as vscode from 'vscode';
import { uploadFiles, walkWorkspace, CodebaseNotFoundError, type LocalFile } from '../../client';
import type { Config } from '../config';
import type { Connection } from '../server/connection';
import { formatBytes } from '../formatBytes';
import { emptyIndex, parseIndex, planUpload, type UploadIndex } from './uploadIndex';
import { selectUploads } from './uploadSelection';

/** The server requires an owner; ours says which client and user made the codebase. */
export function codebaseOwner(): string {
  let user = 'user';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return `vscode:${user}`;
}

export interface SyncResult {
  index: UploadIndex;
  uploadedFiles: number;
  uploadedBytes: number;
  fresh: boolean;
}

/** Asked before an upload would overwrite or drop sandbox changes not yet reviewed. */
export type PendingChangesGuard = (folder: vscode.WorkspaceFolder, overwrittenPaths: string[] | 'all') => Promise<boolean>;

export class WorkspaceSync implements vscode.Disposable {
  private readonly indexes = new Map<string, UploadIndex>();
  private readonly running = new Map<string, Promise<SyncResult>>();
  private readonly emitter = new vscode.EventEmitter<vscode.WorkspaceFolder>();
  /** Fires after a folder's codebase changed (upload, fresh codebase). */
  readonly onDidUpload = this.emitter.event;
  guard: PendingChangesGuard | undefined;

  constructor(
    private readonly storageDir: vscode.Uri,
    private readonly config: Config,
    private readonly connection: Connection,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  private indexFile(folder: vscode.WorkspaceFolder): string {
    // Codebase ids only mean something on one server: key the index by endpoint too.
    const key = createHash('sha256')
      .update(`${this.config.endpoint || 'embedded'}\0${folder.uri.fsPath}`)
      .digest('hex')
      .slice(0, 24);
    return vscode.Uri.joinPath(this.storageDir, 'indexes', `${key}.json`).fsPath;
  }

  async getIndex(folder: vscode.WorkspaceFolder): Promise<UploadIndex | undefined> {
    const file = this.indexFile(folder);
    const cached = this.indexes.get(file);
    if (cached) return cached;
    try {
      const index = parseIndex(JSON.parse(await readFile(file, 'utf8')));
      if (index) this.indexes.set(file, index);
      return index;
    } catch {
      return undefined;
    }
  }

  async saveIndex(folder: vscode.WorkspaceFolder, index: UploadIndex): Promise<void> {
    const file = this.indexFile(folder);
    index.updatedAt = Date.now();
    this.indexes.set(file, index);
    await mkdir(vscode.Uri.joinPath(this.storageDir, 'indexes').fsPath, { recursive: true });
    // Write-then-rename: a crash mid-write never leaves a truncated index behind.
    await writeFile(file + '.tmp', JSON.stringify(index));
    await rename(file + '.tmp', file);
  }

  /** Uploads what changed (one upload per folder at a time; callers share it). */
  sync(folder: vscode.WorkspaceFolder, options: { signal?: AbortSignal; quiet?: boolean } = {}): Promise<SyncResult> {
    const key = folder.uri.toString();
    let p = this.running.get(key);
    if (!p) {
      p = this.doSync(folder, options).finally(() => this.running.delete(key));
      this.running.set(key, p);
    }
    return p;
  }

  private async doSync(folder: vscode.WorkspaceFolder, options: { signal?: AbortSignal; quiet?: boolean }): Promise<SyncResult> {
    const started = Date.now();
    const dir = folder.uri.fsPath;
    const files = await walkWorkspace(dir, { ignore: this.config.ignore, signal: options.signal });
    let index = await this.getIndex(folder);
    if (index) {
      const exists = await this.connection
        .call((c) => c.getCodebase(index!.codebaseId))
        .then(() => true)
        .catch((e) => {
          if (e instanceof CodebaseNotFoundError) return false;
          throw e;
        });
      if (!exists) {
        this.log.info(`Codebase ${index.codebaseId} of ${folder.name} no longer exists on the server; uploading afresh.`);
        index = undefined;
      }
    }
    const plan = planUpload(index, files);
    const toUpload = await selectUploads(plan, files, index, options.signal);

    if (!plan.fresh && toUpload.length === 0) {
      if (plan.candidates.length > 0) {
        for (const c of plan.candidates) {
          const e = index!.files[c.path];
          index!.files[c.path] = { ...e, size: c.size, mtimeMs: c.mtimeMs };
        }
        await this.saveIndex(folder, index!);
      }
      this.log.debug(`${folder.name}: nothing to upload (${files.length} files checked in ${Date.now() - started} ms)`);
      return { index: index!, uploadedFiles: 0, uploadedBytes: 0, fresh: false };
    }

    if (this.guard) {
      const overwritten = plan.fresh ? 'all' : toUpload.map((f) => f.path);
      if (!(await this.guard(folder, overwritten))) throw new vscode.CancellationError();
    }

    const title = plan.fresh
      ? plan.freshReason === 'deleted-locally'
        ? `AgentFense: files were deleted in ${folder.name}, uploading it into a new codebase`
        : `AgentFense: uploading ${folder.name}`
      : `AgentFense: uploading ${toUpload.length} changed file${toUpload.length === 1 ? '' : 's'} of ${folder.name}`;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
        options.signal?.addEventListener('abort', () => abort.abort(options.signal?.reason), { once: true });
        try {
          return await this.upload(folder, plan.fresh ? undefined : index, toUpload, files, progress, abort.signal);
        } finally {
          sub.dispose();
        }
      },
    );
    this.log.info(
      `${folder.name}: uploaded ${result.uploadedFiles} files (${formatBytes(result.uploadedBytes)}) to ${result.index.codebaseId} in ${Date.now() - started} ms`,
    );
    this.emitter.fire(folder);
    return result;
  }

  private async upload(
    folder: vscode.WorkspaceFolder,
    previous: UploadIndex | undefined,
    toUpload: LocalFile[],
    allFiles: LocalFile[],
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    signal: AbortSignal,
  ): Promise<SyncResult> {
    let index: UploadIndex;
    if (previous) {
      index = previous;
    } else {
      const codebase = await this.connection.call((c) => c.createCodebase(`vscode:${folder.name}`, codebaseOwner()), { idempotent: false });
      index = emptyIndex(codebase.id, folder.uri.fsPath);
    }
    const totalBytes = toUpload.reduce((n, f) => n + f.size, 0);
    let lastPct = 0;
    const results = await this.connection.call(
      (client) =>
        uploadFiles(client, index.codebaseId, toUpload, {
          signal,
          onProgress: (p) => {
            const pct = totalBytes > 0 ? (p.bytesDone / totalBytes) * 100 : (p.filesDone / Math.max(1, p.filesTotal)) * 100;
            progress.report({
              message: `${p.filesDone}/${p.filesTotal} files · ${formatBytes(p.bytesDone)} of ${formatBytes(totalBytes)}`,
              increment: pct - lastPct,
            });
            lastPct = pct;
          },
        }),
      { idempotent: true }, // uploading the same bytes again is harmless
    );
    // Only now record the files: a cancelled upload leaves the index pointing at what's known.
    const uploaded = new Set(toUpload.map((f) => f.path));
    for (const f of allFiles) {
      if (!uploaded.has(f.path) && index.files[f.path]) {
        index.files[f.path] = { ...index.files[f.path], size: f.size, mtimeMs: f.mtimeMs };
      }
    }
    // The server's sha256 of what it stored: exactly the bytes uploaded, hashed once.
    toUpload.forEach((f, i) => {
      index.files[f.path] = { size: f.size, mtimeMs: f.mtimeMs, sha256: results[i]!.checksum };
    });
    await this.recordRemoteTimes(index, uploaded);
    await this.saveIndex(folder, index);
    return { index, uploadedFiles: toUpload.length, uploadedBytes: toUpload.reduce((n, f) => n + f.size, 0), fresh: !previous };
  }

  /** Remembers the server's mtime of just-uploaded files, the review's "untouched" marker. */
  async recordRemoteTimes(index: UploadIndex, paths: ReadonlySet<string>): Promise<void> {
    if (paths.size === 0) return;
    const remote = await this.connection.call((c) => c.listFiles(index.codebaseId, { recursive: true }));
    for (const r of remote) {
      const e = index.files[r.path];
      if (e && paths.has(r.path) && r.size === e.size) e.remoteMtimeMs = r.modifiedAt?.getTime();
    }
  }

  /** The local file's current size/mtime (undefined when it does not exist). */
  static async localStat(folder: vscode.WorkspaceFolder, path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const st = await stat(vscode.Uri.joinPath(folder.uri, path).fsPath);
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
