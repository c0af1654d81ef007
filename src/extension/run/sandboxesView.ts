/**
 * The Sandboxes view: codebases → sandboxes → sessions on the connected server. It only
 * lists once connected (opening the view must not start a server); until then the
 * welcome content offers to upload or explains why the server cannot run.
 */
import * as vscode from 'vscode';
import type { CodebaseInfo, SandboxInfo, SessionInfo } from '../../client';
import type { Ctx } from '../context';
import { CODEBASE_TAG, type CloudSandbox } from '../../cloud/e2bBackend';
import { rootOf } from '../workspaceRoots';
import { LABEL_FOLDER, LABEL_PRESET } from '../../core/run/sandboxProvisioner';
import { formatBytes } from '../../core/formatBytes';
import { formatAge, formatLimits, shortSandboxId } from './terminalText';

export type SandboxNode =
  | { kind: 'codebase'; codebase: CodebaseInfo; folder?: vscode.WorkspaceFolder }
  | { kind: 'sandbox'; sandbox: SandboxInfo; codebaseId: string; folder?: vscode.WorkspaceFolder; sandboxId: string }
  | { kind: 'session'; session: SessionInfo }
  /** A sandbox at a cloud provider (`agentfense.backend` = e2b): listed flat, by its metadata tag. */
  | {
      kind: 'cloudSandbox';
      sandbox: CloudSandbox;
      sandboxId: string;
      codebaseId: string;
      folder?: vscode.WorkspaceFolder;
    }
  | { kind: 'message'; text: string; icon: string };

const STATUS_ICONS: Record<SandboxInfo['status'], [string, string | undefined]> = {
  running: ['vm-running', 'charts.green'],
  pending: ['vm-outline', undefined],
  stopped: ['vm', 'disabledForeground'],
  error: ['error', 'errorForeground'],
};

export class SandboxesTreeProvider implements vscode.TreeDataProvider<SandboxNode> {
  private readonly emitter = new vscode.EventEmitter<SandboxNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly ctx: Ctx) {
    ctx.push(
      ctx.connection.onDidChangeState(() => this.refresh()),
      ctx.sandboxes.onDidChange(() => this.refresh()),
      ctx.sync.onDidUpload(() => this.refresh()),
    );
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  private async folderOfCodebase(id: string): Promise<vscode.WorkspaceFolder | undefined> {
    for (const f of vscode.workspace.workspaceFolders ?? [])
      if ((await this.ctx.baselines.of(rootOf(f)).current()).index?.codebaseId === id) return f;
    return undefined;
  }

  async getChildren(node?: SandboxNode): Promise<SandboxNode[]> {
    if (this.ctx.cloud) return node ? [] : this.cloudSandboxes(this.ctx.cloud);
    if (this.ctx.connection.state !== 'connected') return [];
    try {
      if (!node) {
        const { codebases } = await this.ctx.connection.call((c) => c.listCodebases({}));
        const nodes: SandboxNode[] = [];
        for (const codebase of codebases)
          nodes.push({ kind: 'codebase', codebase, folder: await this.folderOfCodebase(codebase.id) });
        // This workspace's codebases first.
        return nodes.sort(
          (a, b) => Number(!!(b as { folder?: unknown }).folder) - Number(!!(a as { folder?: unknown }).folder),
        );
      }
      if (node.kind === 'codebase') {
        const { sandboxes } = await this.ctx.connection.call((c) => c.listSandboxes({ codebaseId: node.codebase.id }));
        if (sandboxes.length === 0)
          return [{ kind: 'message', text: 'No sandboxes yet — run a command to create one', icon: 'info' }];
        return sandboxes.map((sandbox) => ({
          kind: 'sandbox',
          sandbox,
          codebaseId: node.codebase.id,
          folder: node.folder,
          sandboxId: sandbox.id,
        }));
      }
      if (node.kind === 'sandbox') {
        if (node.sandbox.status !== 'running') return [];
        const sessions = await this.ctx.connection.call((c) => c.listSessions(node.sandbox.id));
        return sessions.filter((s) => s.status !== 'closed').map((session) => ({ kind: 'session', session }));
      }
    } catch (e) {
      return [{ kind: 'message', text: `Could not list: ${(e as Error).message}`, icon: 'warning' }];
    }
    return [];
  }

  private async cloudSandboxes(cloud: NonNullable<Ctx['cloud']>): Promise<SandboxNode[]> {
    try {
      const sandboxes = await cloud.listAll();
      if (sandboxes.length === 0)
        return [
          { kind: 'message', text: `No sandboxes at ${cloud.provider} — run a command to create one`, icon: 'info' },
        ];
      const folders = vscode.workspace.workspaceFolders ?? [];
      return sandboxes.map((sandbox) => ({
        kind: 'cloudSandbox',
        sandbox,
        sandboxId: sandbox.id,
        codebaseId: sandbox.labels[CODEBASE_TAG] ?? '',
        folder: folders.find((f) => f.name === sandbox.labels[LABEL_FOLDER]),
      }));
    } catch (e) {
      return [{ kind: 'message', text: `Could not list: ${(e as Error).message}`, icon: 'warning' }];
    }
  }

  getTreeItem(node: SandboxNode): vscode.TreeItem {
    switch (node.kind) {
      case 'cloudSandbox': {
        const { sandbox } = node;
        const preset = sandbox.labels[LABEL_PRESET] ?? 'custom rules';
        const state = sandbox.status === 'stopped' ? 'paused' : sandbox.known ? 'running' : 'running elsewhere';
        const item = new vscode.TreeItem(shortSandboxId(sandbox.id), vscode.TreeItemCollapsibleState.None);
        item.id = `cloud:${sandbox.id}`;
        item.description = `${state} · ${preset} · ${formatAge(sandbox.startedAt)} · ${sandbox.provider}`;
        item.tooltip = new vscode.MarkdownString(
          `**Cloud sandbox** \`${sandbox.id}\`\n\n- state: ${state}\n- provider: ${sandbox.provider}\n- template: ${sandbox.template}\n- preset: ${preset}\n- folder: ${sandbox.labels[LABEL_FOLDER] ?? '—'}\n- started: ${sandbox.startedAt?.toLocaleString() ?? '—'}\n- ends unless used: ${sandbox.endsAt?.toLocaleString() ?? '—'}${sandbox.known ? '' : '\n\nNot made by this machine (or its state is lost): it can be killed here, not given runs.'}`,
        );
        const [icon, color] = STATUS_ICONS[sandbox.status];
        item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
        // The same menus as the server's sandboxes: Stop pauses, Start resumes, Destroy kills.
        item.contextValue = `sandbox.${sandbox.status}`;
        return item;
      }
      case 'codebase': {
        const { codebase } = node;
        const item = new vscode.TreeItem(
          node.folder ? node.folder.name : codebase.name || codebase.id,
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `codebase:${codebase.id}`;
        item.description = `${codebase.fileCount} files · ${formatBytes(codebase.size)}${node.folder ? ' · this workspace' : ''}`;
        item.tooltip = `Codebase ${codebase.id} (${codebase.name})\nUpdated ${formatAge(codebase.updatedAt)}`;
        item.iconPath = new vscode.ThemeIcon(node.folder ? 'root-folder' : 'database');
        item.contextValue = `codebase.${node.folder ? 'workspace' : 'other'}`;
        return item;
      }
      case 'sandbox': {
        const { sandbox } = node;
        const preset = sandbox.labels[LABEL_PRESET] ?? 'custom rules';
        const item = new vscode.TreeItem(
          shortSandboxId(sandbox.id),
          sandbox.status === 'running'
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `sandbox:${sandbox.id}`;
        const runtime = sandbox.image ? `${sandbox.runtime} ${sandbox.image}` : sandbox.runtime;
        item.description = `${sandbox.status} · ${preset} · ${formatAge(sandbox.startedAt ?? sandbox.createdAt)} · ${runtime}`;
        const labels = Object.entries(sandbox.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        item.tooltip = new vscode.MarkdownString(
          `**Sandbox** \`${sandbox.id}\`\n\n- status: ${sandbox.status}\n- preset: ${preset}\n- folder: ${sandbox.labels[LABEL_FOLDER] ?? '—'}\n- runtime: ${runtime}\n- limits: ${formatLimits(sandbox.resources)}\n- created: ${sandbox.createdAt?.toLocaleString() ?? '—'}\n- labels: ${labels || '—'}`,
        );
        const [icon, color] = STATUS_ICONS[sandbox.status];
        item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
        item.contextValue = `sandbox.${sandbox.status}`;
        return item;
      }
      case 'session': {
        const item = new vscode.TreeItem(node.session.id, vscode.TreeItemCollapsibleState.None);
        item.description = `${node.session.shell} · ${formatAge(node.session.createdAt)}`;
        item.iconPath = new vscode.ThemeIcon('terminal');
        item.contextValue = 'session';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }
}

export type SandboxArgNode = Extract<SandboxNode, { kind: 'sandbox' | 'cloudSandbox' }>;
export type CodebaseArgNode = Extract<SandboxNode, { kind: 'codebase' }>;

/** Start, stop or destroy the sandbox of a Sandboxes view node (destroy asks first). */
export async function changeSandbox(
  ctx: Ctx,
  tree: SandboxesTreeProvider,
  node: SandboxArgNode | undefined,
  verb: 'start' | 'stop' | 'destroy',
): Promise<void> {
  if (!node) return;
  if (verb === 'destroy') {
    const ok = await vscode.window.showWarningMessage(
      `Destroy sandbox ${node.sandbox.id}?`,
      { modal: true, detail: 'Its sessions end. Changes already in the codebase stay there for review.' },
      'Destroy',
    );
    if (!ok) return;
  }
  if (ctx.cloud) {
    const id = node.sandbox.id;
    if (verb === 'start') await ctx.cloud.startSandbox(id);
    else if (verb === 'stop') await ctx.cloud.stopSandbox(id);
    else await ctx.cloud.destroySandbox(id);
    tree.refresh();
    return;
  }
  await ctx.connection.call<unknown>(
    (c) =>
      verb === 'start'
        ? c.startSandbox(node.sandbox.id)
        : verb === 'stop'
          ? c.stopSandbox(node.sandbox.id)
          : c.destroySandbox(node.sandbox.id),
    { idempotent: verb !== 'start' },
  );
  tree.refresh();
}

export async function refreshSandboxes(ctx: Ctx, tree: SandboxesTreeProvider): Promise<void> {
  if (!ctx.cloud && ctx.connection.state !== 'connected') await ctx.connection.getClient();
  tree.refresh();
}

export async function deleteCodebase(ctx: Ctx, tree: SandboxesTreeProvider, n?: CodebaseArgNode): Promise<void> {
  if (!n) return;
  const ok = await vscode.window.showWarningMessage(
    `Delete codebase "${n.codebase.name}" (${n.codebase.id})?`,
    {
      modal: true,
      detail: 'Its sandboxes stop working and changes not yet accepted are lost. Your workspace files are not touched.',
    },
    'Delete',
  );
  if (!ok) return;
  await ctx.connection.call((c) => c.deleteCodebase(n.codebase.id));
  tree.refresh();
  if (n.folder) ctx.codebaseMayHaveChanged(n.folder);
}
