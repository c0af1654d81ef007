/**
 * The Explorer preview: each file's badge and hover say what the sandbox will hold of it (— not
 * uploaded, ⊘ hidden, V view, R read, W write, and why); absent files are also faded. What to
 * say is decided in pathPreview.ts; this only gathers the inputs for VS Code.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { affects } from '../config';
import { describePreview, previewPath } from './pathPreview';
import { WorkspaceExclusions } from './workspaceExclusions';

export class PermissionDecorationProvider implements vscode.FileDecorationProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri | vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.emitter.event;
  private readonly exclusions: WorkspaceExclusions;
  /** Set once a path could not be explained, so a broken ignore file is logged once, not per file. */
  private warned = false;

  constructor(private readonly ctx: Ctx) {
    this.exclusions = new WorkspaceExclusions(ctx.config);
    ctx.push(
      this.exclusions,
      this.exclusions.onDidChange(() => this.emitter.fire(undefined)),
      ctx.presets.onDidChange(() => this.emitter.fire(undefined)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affects(e, 'permissionPreview') || affects(e, 'activePreset')) this.emitter.fire(undefined);
      }),
    );
  }

  async provideFileDecoration(uri: vscode.Uri): Promise<vscode.FileDecoration | undefined> {
    if (uri.scheme !== 'file' || !this.ctx.config.permissionPreview) return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return undefined;
    const rel = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
    if (rel === '' || rel.startsWith('..')) return undefined;
    const engine = this.ctx.presets.activeEngine();
    if (!engine) return undefined;
    const exclusion = await this.exclusions.exclusionOf(folder, rel).catch((err: unknown) => {
      // The upload would fail on the same file; the preview still shows the preset's level.
      if (!this.warned) this.ctx.log.warn(`permission preview: cannot tell whether ${rel} is uploaded: ${String(err)}`);
      this.warned = true;
      return undefined;
    });
    const shown = describePreview(previewPath(rel, exclusion, engine), this.ctx.presets.activeName);
    const decoration = new vscode.FileDecoration(
      shown.badge,
      shown.tooltip,
      shown.faded ? new vscode.ThemeColor('gitDecoration.ignoredResourceForeground') : undefined,
    );
    // A hidden file must not colour its whole folder chain.
    decoration.propagate = false;
    return decoration;
  }
}

export function registerPermissionDecorations(ctx: Ctx): void {
  ctx.push(vscode.window.registerFileDecorationProvider(new PermissionDecorationProvider(ctx)));
}

export async function togglePermissionPreview(ctx: Ctx): Promise<void> {
  const on = !ctx.config.permissionPreview;
  await ctx.config.setPermissionPreview(on);
  vscode.window.setStatusBarMessage(`AgentFense: permission preview ${on ? 'on' : 'off'}`, 3000);
}
