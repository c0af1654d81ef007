/**
 * Everything the extension's features share, built once in `activate` and handed to each
 * feature: settings, logs, the server connection, presets, the workspace sync and sandboxes.
 */
import * as vscode from 'vscode';
import { Config } from './config';
import { Connection } from './server/connection';
import { showError } from './server/errorReporting';
import { PresetStore } from './presets/presetStore';
import { SandboxProvisioner } from './run/sandboxProvisioner';
import { WorkspaceSync } from './upload/workspaceSync';

export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly log: vscode.LogOutputChannel;
  readonly serverLog: vscode.LogOutputChannel;
  readonly connection: Connection;
  readonly presets: PresetStore;
  readonly sync: WorkspaceSync;
  readonly sandboxes: SandboxProvisioner;
  /** Set by the change review once it exists; runs call it when they finish. */
  refreshReview: (folder: vscode.WorkspaceFolder) => Promise<void> = async () => undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('AgentFense', { log: true });
    this.serverLog = vscode.window.createOutputChannel('AgentFense Server', { log: true });
    this.connection = new Connection(extension, this.config, this.log, this.serverLog);
    this.presets = new PresetStore(this.config);
    this.sync = new WorkspaceSync(extension.globalStorageUri, this.config, this.connection, this.log);
    this.sandboxes = new SandboxProvisioner(this.config, this.connection, this.presets, this.sync);
    this.disposables.push(this.log, this.serverLog, this.connection, this.presets, this.sync, this.sandboxes);
  }

  /** Registers a command whose failures become a clear message instead of a stack trace. */
  registerCommand<Args extends unknown[]>(id: string, fn: (...args: Args) => unknown): void {
    this.disposables.push(
      // VS Code passes whatever the caller (a menu, a keybinding, executeCommand) gave: the
      // handler's own parameter types are its contract with those callers.
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...(args as Args));
        } catch (e) {
          await showError(e, this.log);
          return undefined;
        }
      }),
    );
  }

  push(...d: vscode.Disposable[]): void {
    this.disposables.push(...d);
  }

  /** The folder a command acts on: the only one, the active editor's, or the user's pick. */
  async pickFolder(placeHolder = 'Workspace folder to run in the sandbox'): Promise<vscode.WorkspaceFolder | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showWarningMessage('AgentFense: open a folder first; the sandbox runs against a workspace folder.');
      return undefined;
    }
    if (folders.length === 1) return folders[0];
    return vscode.window.showWorkspaceFolderPick({ placeHolder });
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
