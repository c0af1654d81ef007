/**
 * Everything the extension's features share, built once in `activate` and handed to each
 * feature: settings, logs, the server connection, presets, and the core (baselines, workspace
 * sync, sandbox provisioning) over a backend that calls through the connection.
 */
import * as vscode from 'vscode';
import { AgentFenseBackend, type SandboxInfo } from '../client';
import { E2bBackend, type CloudSandbox } from '../cloud/e2bBackend';
import { describeProvider, providerConnection } from '../cloud/cloudProviders';
import type { SandboxBackend } from '../core/backend';
import { withNetworkOverride } from '../shared/networkPolicy';
import { BaselineStore } from '../core/review/reviewBaseline';
import { SandboxProvisioner, type EnsureOptions, type SandboxTarget } from '../core/run/sandboxProvisioner';
import { WorkspaceSync } from '../core/sync/workspaceSync';
import { Config } from './config';
import { Connection } from './server/connection';
import { showError } from './server/errorReporting';
import { PresetStore } from './presets/presetStore';
import { RunOutcomes } from './run/runOutcomes';
import { RecentDenials } from './denials/recentDenials';
import { confirmUploadOverPending } from './upload/overwriteConfirmation';
import { showUploadProgress } from './upload/uploadProgress';
import { rootOf } from './workspaceRoots';

/** Labels and codebase owners say which client made them. */
const CLIENT = 'vscode';
/** Where the cloud API key lives in the editor's secret storage (the OS keychain). */
export const CLOUD_KEY_SECRET = 'agentfense.cloud.apiKey';

/** A sandbox as the extension sees it: the AgentFense server's, or a cloud provider's. */
export type AnySandbox = SandboxInfo | CloudSandbox;

export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly log: vscode.LogOutputChannel;
  readonly serverLog: vscode.LogOutputChannel;
  readonly connection: Connection;
  readonly presets: PresetStore;
  readonly backend: SandboxBackend<AnySandbox>;
  /** The cloud backend, when `agentfense.backend` is `e2b` (chosen at activation). */
  readonly cloud: E2bBackend | undefined;
  readonly baselines: BaselineStore;
  readonly sync: WorkspaceSync;
  readonly sandboxes: SandboxProvisioner<AnySandbox>;
  /** Problems and notifications of finished runs. */
  readonly outcomes = new RunOutcomes();
  /** What each folder's latest audited run was refused (the Denials view). */
  readonly denials = new RecentDenials();
  private readonly codebaseChanged = new vscode.EventEmitter<vscode.WorkspaceFolder>();
  /** Fires when a folder's codebase may have changed: a run in its sandbox ended, it was deleted. */
  readonly onDidChangeCodebase = this.codebaseChanged.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('AgentFense', { log: true });
    this.serverLog = vscode.window.createOutputChannel('AgentFense Server', { log: true });
    this.connection = new Connection(extension, this.config, this.log, this.serverLog);
    this.presets = new PresetStore(this.config, extension.workspaceState);
    this.cloud =
      this.config.backend === 'e2b'
        ? new E2bBackend({
            settings: () => this.config.cloud,
            apiKey: async () => (await extension.secrets.get(CLOUD_KEY_SECRET)) || process.env.E2B_API_KEY || undefined,
            storageDir: vscode.Uri.joinPath(extension.globalStorageUri, 'cloud').fsPath,
          })
        : undefined;
    this.backend = this.cloud ?? new AgentFenseBackend((fn, options) => this.connection.call(fn, options));
    // Codebase ids mean something in one place only: the endpoint (or the cloud) scopes the baselines.
    this.baselines = new BaselineStore(vscode.Uri.joinPath(extension.globalStorageUri, 'indexes').fsPath, () =>
      this.cloud
        ? `cloud:${JSON.stringify(providerConnection(this.config.cloud))}`
        : this.config.endpoint || 'embedded',
    );
    this.sync = new WorkspaceSync(this.backend, this.baselines, {
      client: CLIENT,
      ignore: () => this.config.ignore,
      log: this.log,
      progress: showUploadProgress,
      confirmOverwrite: confirmUploadOverPending,
    });
    this.sandboxes = new SandboxProvisioner(this.backend, this.sync, {
      client: CLIENT,
      rulesOf: (preset) => this.presets.catalog.rulesOf(preset),
      networkOf: (preset) => withNetworkOverride(this.presets.catalog.networkOf(preset), this.config.networkOverride),
      runtimeOf: (preset) => this.presets.catalog.runtimeOf(preset),
    });
    this.disposables.push(
      // The MCP server on a folder of this window edits the same baseline: show its changes.
      this.baselines.watchOtherWriters(),
      this.log,
      this.serverLog,
      this.connection,
      this.presets,
      this.baselines,
      this.sync,
      this.sandboxes,
      this.denials,
      this.codebaseChanged,
    );
  }

  /** The folder's running sandbox for `preset` (default: the active one), uploading what changed first. */
  provision(
    folder: vscode.WorkspaceFolder,
    preset: string | undefined,
    options: EnsureOptions = {},
  ): Promise<SandboxTarget<AnySandbox>> {
    return this.sandboxes.ensureSandbox(rootOf(folder), preset || this.presets.activeName, options);
  }

  /** Where sandboxes run, in words: "PPIO (sandbox.ppio.com)", or undefined for an AgentFense server. */
  get cloudProvider(): string | undefined {
    return this.cloud ? describeProvider(this.config.cloud) : undefined;
  }

  /**
   * A run in the folder's sandbox ended (or its codebase went): the review looks again, unless
   * the server said the run's merge changed no path (`pathsMerged` 0), which spares a listing.
   */
  codebaseMayHaveChanged(folder: vscode.WorkspaceFolder, pathsMerged?: number): void {
    if (pathsMerged === 0) return;
    this.codebaseChanged.fire(folder);
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
  async pickFolder(
    placeHolder = 'Workspace folder to run in the sandbox',
  ): Promise<vscode.WorkspaceFolder | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showWarningMessage(
        'AgentFense: open a folder first; the sandbox runs against a workspace folder.',
      );
      return undefined;
    }
    if (folders.length === 1) return folders[0];
    return vscode.window.showWorkspaceFolderPick({ placeHolder });
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
