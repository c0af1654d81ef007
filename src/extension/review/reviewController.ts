/**
 * The "AgentFense" source control: per workspace folder, the files the sandbox changed in
 * its codebase, against the upload index. Refreshed after every run and upload.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CodebaseNotFoundError } from '../../client';
import type { Ctx } from '../context';
import { isCancellation } from '../server/errorReporting';
import type { UploadIndex } from '../upload/uploadIndex';
import { sha256Stream } from '../upload/uploadSelection';
import { confirmChanges, findChangeCandidates, type Change } from './changeComputation';
import { loadIgnoreMatcher } from './ignoreMatcher';
import { SandboxFileSystem, SANDBOX_SCHEME, sandboxUri } from './sandboxFileSystem';

export interface ChangeResourceState extends vscode.SourceControlResourceState {
  readonly change: Change;
  readonly review: FolderReview;
}

export class FolderReview {
  readonly scm: vscode.SourceControl;
  readonly group: vscode.SourceControlResourceGroup;
  changes: Change[] = [];
  index: UploadIndex | undefined;

  constructor(
    readonly folder: vscode.WorkspaceFolder,
    quickDiff: vscode.QuickDiffProvider,
  ) {
    this.scm = vscode.scm.createSourceControl('agentfense', 'AgentFense', folder.uri);
    this.scm.inputBox.visible = false;
    this.scm.quickDiffProvider = quickDiff;
    this.group = this.scm.createResourceGroup('sandbox', 'Sandbox changes');
    this.group.hideWhenEmpty = false;
  }

  get codebaseId(): string | undefined {
    return this.index?.codebaseId;
  }

  uriOf(p: string): vscode.Uri {
    return vscode.Uri.joinPath(this.folder.uri, p);
  }

  dispose(): void {
    this.scm.dispose();
  }
}

const DISCARDED_KEY = 'agentfense.discarded';

export class ReviewController implements vscode.Disposable {
  private readonly reviews = new Map<string, FolderReview>();
  readonly fs: SandboxFileSystem;
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.fs = new SandboxFileSystem(ctx.connection);
    this.disposables.push(
      vscode.workspace.registerFileSystemProvider(SANDBOX_SCHEME, this.fs, { isCaseSensitive: true, isReadonly: true }),
      vscode.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const f of e.removed) {
          this.reviews.get(f.uri.toString())?.dispose();
          this.reviews.delete(f.uri.toString());
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('agentfense.review.showIgnored') || e.affectsConfiguration('agentfense.ignore')) void this.refreshAll();
      }),
    );
  }

  private readonly quickDiff: vscode.QuickDiffProvider = {
    provideOriginalResource: (uri) => {
      const review = this.reviewFor(uri);
      const rel = review && path.relative(review.folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
      const change = review?.changes.find((c) => c.path === rel && c.kind === 'modified');
      return change && review?.codebaseId ? sandboxUri(review.codebaseId, change.path) : undefined;
    },
  };

  reviewFor(uri: vscode.Uri): FolderReview | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    return folder ? this.reviews.get(folder.uri.toString()) : undefined;
  }

  get all(): FolderReview[] {
    return [...this.reviews.values()];
  }

  private ensureReview(folder: vscode.WorkspaceFolder): FolderReview {
    let review = this.reviews.get(folder.uri.toString());
    if (!review) {
      review = new FolderReview(folder, this.quickDiff);
      this.reviews.set(folder.uri.toString(), review);
    }
    return review;
  }

  discardedOf(folder: vscode.WorkspaceFolder): Record<string, string> {
    return this.ctx.extension.workspaceState.get<Record<string, Record<string, string>>>(DISCARDED_KEY, {})[folder.uri.toString()] ?? {};
  }

  async setDiscarded(folder: vscode.WorkspaceFolder, map: Record<string, string>): Promise<void> {
    const all = this.ctx.extension.workspaceState.get<Record<string, Record<string, string>>>(DISCARDED_KEY, {});
    await this.ctx.extension.workspaceState.update(DISCARDED_KEY, { ...all, [folder.uri.toString()]: map });
  }

  /** Folders that have been uploaded before; called once the server is connected. */
  async refreshAll(): Promise<void> {
    if (this.ctx.connection.state !== 'connected') return;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (await this.ctx.sync.getIndex(folder)) await this.refresh(folder);
    }
  }

  refresh(folder: vscode.WorkspaceFolder): Promise<void> {
    const key = folder.uri.toString();
    // Coalesce: a refresh asked for while one runs starts after it, once.
    const previous = this.refreshing.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.doRefresh(folder)).catch((e) => {
      if (!isCancellation(e)) this.ctx.log.error(`Refreshing sandbox changes of ${folder.name}: ${(e as Error).message}`);
    });
    this.refreshing.set(key, next);
    return next;
  }

  private async doRefresh(folder: vscode.WorkspaceFolder): Promise<void> {
    const index = await this.ctx.sync.getIndex(folder);
    const review = this.ensureReview(folder);
    review.index = index;
    if (!index) {
      this.setChanges(review, []);
      return;
    }
    let remote;
    try {
      remote = await this.ctx.connection.call((c) => c.listFiles(index.codebaseId, { recursive: true }));
    } catch (e) {
      if (e instanceof CodebaseNotFoundError) {
        this.setChanges(review, []);
        return;
      }
      throw e;
    }
    const isIgnored = await loadIgnoreMatcher(folder.uri.fsPath, this.ctx.config.ignore);
    const candidates = findChangeCandidates(
      index,
      remote.map((r) => ({ path: r.path, isDir: r.isDir, size: r.size, modifiedAtMs: r.modifiedAt?.getTime() ?? 0 })),
      { isIgnored, showIgnored: this.ctx.config.showIgnoredChanges, discarded: new Map(Object.entries(this.discardedOf(folder))) },
    );
    const { changes, sameContent } = await vscode.window.withProgress(
      { location: { viewId: 'workbench.view.scm' }, title: 'Checking sandbox changes' },
      () => confirmChanges(index, candidates, (p) => this.ctx.connection.call((c) => sha256Stream(c.downloadFile(index.codebaseId, p)))),
    );
    if (sameContent.length > 0) {
      // Remember "touched but identical" so the next refresh does not download them again.
      for (const s of sameContent) if (index.files[s.path]) index.files[s.path].remoteMtimeMs = s.remoteMtimeMs;
      await this.ctx.sync.saveIndex(folder, index);
    }
    this.fs.invalidate();
    this.setChanges(review, changes);
  }

  setChanges(review: FolderReview, changes: Change[]): void {
    review.changes = changes;
    review.group.resourceStates = changes.map((change) => this.resourceState(review, change));
    review.scm.count = changes.length;
    const any = this.all.some((r) => r.changes.length > 0);
    void vscode.commands.executeCommand('setContext', 'agentfense.hasChanges', any);
  }

  /** Drops handled changes from the list without a server round trip. */
  removeChanges(review: FolderReview, paths: ReadonlySet<string>): void {
    this.setChanges(
      review,
      review.changes.filter((c) => !paths.has(c.path)),
    );
  }

  private resourceState(review: FolderReview, change: Change): ChangeResourceState {
    const letter = { added: 'A', modified: 'M', deleted: 'D' }[change.kind];
    const color = {
      added: 'gitDecoration.addedResourceForeground',
      modified: 'gitDecoration.modifiedResourceForeground',
      deleted: 'gitDecoration.deletedResourceForeground',
    }[change.kind];
    const icon = { added: 'diff-added', modified: 'diff-modified', deleted: 'diff-removed' }[change.kind];
    const state: ChangeResourceState = {
      resourceUri: review.uriOf(change.path),
      change,
      review,
      contextValue: change.kind,
      decorations: {
        strikeThrough: change.kind === 'deleted',
        tooltip: `${{ added: 'Added', modified: 'Modified', deleted: 'Deleted' }[change.kind]} by the sandbox (${letter})`,
        iconPath: new vscode.ThemeIcon(icon, new vscode.ThemeColor(color)),
        faded: false,
      },
      command: { command: 'agentfense.review.openDiff', title: 'Open Sandbox Change', arguments: [undefined] },
    };
    // The command needs the state itself; assigned after creation so it refers to it.
    state.command!.arguments = [state];
    return state;
  }

  dispose(): void {
    for (const r of this.reviews.values()) r.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
