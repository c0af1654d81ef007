/**
 * The "AgentFense" source control: per workspace folder, the change set of its baseline (the
 * core's FolderBaseline, which owns index, discarded changes and changes). This file only
 * shows it: the SCM group follows the baseline's events, refreshes go through the core.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Change } from '../../core/review/changeComputation';
import { refreshChanges } from '../../core/review/changeSet';
import type { FolderBaseline } from '../../core/review/reviewBaseline';
import type { Ctx } from '../context';
import { isCancellation } from '../server/errorReporting';
import { rootOf } from '../workspaceRoots';
import { SandboxFileSystem, SANDBOX_SCHEME, sandboxUri } from './sandboxFileSystem';

export interface ChangeResourceState extends vscode.SourceControlResourceState {
  readonly change: Change;
  readonly review: FolderReview;
}

export class FolderReview {
  readonly scm: vscode.SourceControl;
  readonly group: vscode.SourceControlResourceGroup;

  constructor(
    readonly folder: vscode.WorkspaceFolder,
    readonly baseline: FolderBaseline,
    quickDiff: vscode.QuickDiffProvider,
  ) {
    this.scm = vscode.scm.createSourceControl('agentfense', 'AgentFense', folder.uri);
    this.scm.inputBox.visible = false;
    this.scm.quickDiffProvider = quickDiff;
    this.group = this.scm.createResourceGroup('sandbox', 'Sandbox changes');
    this.group.hideWhenEmpty = false;
  }

  get changes(): readonly Change[] {
    return this.baseline.changes;
  }

  get codebaseId(): string | undefined {
    return this.baseline.codebaseId;
  }

  uriOf(p: string): vscode.Uri {
    return vscode.Uri.joinPath(this.folder.uri, p);
  }

  get states(): ChangeResourceState[] {
    return this.group.resourceStates as ChangeResourceState[];
  }

  dispose(): void {
    this.scm.dispose();
  }
}

export class ReviewController implements vscode.Disposable {
  private readonly reviews = new Map<string, { review: FolderReview; subscription: { dispose(): void } }>();
  readonly fs: SandboxFileSystem;
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.fs = new SandboxFileSystem(ctx.backend);
    this.disposables.push(
      vscode.workspace.registerFileSystemProvider(SANDBOX_SCHEME, this.fs, { isCaseSensitive: true, isReadonly: true }),
      vscode.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const f of e.removed) {
          const entry = this.reviews.get(f.uri.toString());
          entry?.subscription.dispose();
          entry?.review.dispose();
          this.reviews.delete(f.uri.toString());
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('agentfense.review.showIgnored') || e.affectsConfiguration('agentfense.ignore'))
          void this.refreshAll();
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
    return folder ? this.reviews.get(folder.uri.toString())?.review : undefined;
  }

  get all(): FolderReview[] {
    return [...this.reviews.values()].map((e) => e.review);
  }

  private ensureReview(folder: vscode.WorkspaceFolder): FolderReview {
    let entry = this.reviews.get(folder.uri.toString());
    if (!entry) {
      const review = new FolderReview(folder, this.ctx.baselines.of(rootOf(folder)), this.quickDiff);
      entry = { review, subscription: review.baseline.onDidChange(() => this.render(review)) };
      this.reviews.set(folder.uri.toString(), entry);
    }
    return entry.review;
  }

  /** After a reload: the change sets saved last time, shown before any server is reached. */
  async restore(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if ((await this.ctx.baselines.of(rootOf(folder)).current()).index) this.render(this.ensureReview(folder));
    }
  }

  /** Folders that have been uploaded before; called once the server is connected. */
  async refreshAll(): Promise<void> {
    if (this.ctx.connection.state !== 'connected') return;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if ((await this.ctx.baselines.of(rootOf(folder)).current()).index) await this.refresh(folder);
    }
  }

  refresh(folder: vscode.WorkspaceFolder): Promise<void> {
    const key = folder.uri.toString();
    // Coalesce: a refresh asked for while one runs starts after it, once.
    const previous = this.refreshing.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.doRefresh(folder))
      .catch((e) => {
        if (!isCancellation(e))
          this.ctx.log.error(`Refreshing sandbox changes of ${folder.name}: ${(e as Error).message}`);
      });
    this.refreshing.set(key, next);
    return next;
  }

  private async doRefresh(folder: vscode.WorkspaceFolder): Promise<void> {
    const review = this.ensureReview(folder);
    if (!(await review.baseline.current()).index) return this.render(review);
    await vscode.window.withProgress(
      { location: { viewId: 'workbench.view.scm' }, title: 'Checking sandbox changes' },
      () =>
        refreshChanges(this.ctx.backend, review.baseline, {
          ignore: this.ctx.config.ignore,
          showIgnored: this.ctx.config.showIgnoredChanges,
        }),
    );
    // The codebase may hold new versions: diffs read them again.
    this.fs.invalidate();
  }

  private render(review: FolderReview): void {
    review.group.resourceStates = review.changes.map((change) => this.resourceState(review, change));
    review.scm.count = review.changes.length;
    const any = this.all.some((r) => r.changes.length > 0);
    void vscode.commands.executeCommand('setContext', 'agentfense.hasChanges', any);
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
    for (const { review, subscription } of this.reviews.values()) {
      subscription.dispose();
      review.dispose();
    }
    for (const d of this.disposables) d.dispose();
  }
}
