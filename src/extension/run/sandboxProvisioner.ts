/**
 * One sandbox per (folder, preset, network): found again by its labels, started if stopped,
 * created if missing. Commands, tasks, tests and terminals all get their sandbox here.
 */
import * as vscode from 'vscode';
import { SandboxNotFoundError, type SandboxInfo } from '../../client';
import type { Config } from '../config';
import type { Connection } from '../server/connection';
import type { PresetStore } from '../presets/presetStore';
import type { WorkspaceSync } from '../upload/workspaceSync';

export const LABEL_PRESET = 'agentfense.preset';
export const LABEL_FOLDER = 'agentfense.folder';
export const LABEL_CLIENT = 'agentfense.client';
export const LABEL_NETWORK = 'agentfense.network';

export interface SandboxTarget {
  sandbox: SandboxInfo;
  codebaseId: string;
  folder: vscode.WorkspaceFolder;
  preset: string;
}

export class SandboxProvisioner implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fires when sandboxes were created, started, stopped or destroyed. */
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly config: Config,
    private readonly connection: Connection,
    private readonly presets: PresetStore,
    private readonly sync: WorkspaceSync,
  ) {}

  fireChanged(): void {
    this.emitter.fire();
  }

  /** Uploads what changed, then returns a running sandbox for the folder and preset. */
  async ensureSandbox(
    folder: vscode.WorkspaceFolder,
    presetName: string | undefined,
    options: { signal?: AbortSignal; report?: (message: string) => void } = {},
  ): Promise<SandboxTarget> {
    const preset = presetName || this.presets.activeName;
    // Validate the preset before any upload: a typo should fail fast and say so.
    const rules = this.presets.catalog.rulesOf(preset);
    options.report?.('checking the workspace…');
    const { index } = await this.sync.sync(folder, { signal: options.signal });
    const network = this.config.network ? 'on' : 'off';
    const { sandboxes } = await this.connection.call((c) => c.listSandboxes({ codebaseId: index.codebaseId }));
    const mine = sandboxes.filter(
      (s) =>
        s.labels[LABEL_CLIENT] === 'vscode' &&
        s.labels[LABEL_PRESET] === preset &&
        (s.labels[LABEL_NETWORK] ?? 'off') === network &&
        s.status !== 'error' &&
        sameRules(s, rules),
    );
    const running = mine.find((s) => s.status === 'running');
    if (running) return { sandbox: running, codebaseId: index.codebaseId, folder, preset };
    const startable = mine.find((s) => s.status === 'stopped' || s.status === 'pending');
    if (startable) {
      options.report?.(`starting sandbox ${startable.id}…`);
      try {
        const sandbox = await this.connection.call((c) => c.startSandbox(startable.id));
        this.emitter.fire();
        return { sandbox, codebaseId: index.codebaseId, folder, preset };
      } catch (e) {
        if (!(e instanceof SandboxNotFoundError)) throw e;
      }
    }
    options.report?.(`creating a ${preset} sandbox…`);
    const labels: Record<string, string> = {
      [LABEL_PRESET]: preset,
      [LABEL_FOLDER]: folder.name,
      [LABEL_CLIENT]: 'vscode',
    };
    if (network === 'on') labels[LABEL_NETWORK] = 'on';
    const created = await this.connection.call((c) => c.createSandbox(index.codebaseId, { permissions: rules, labels }), {
      idempotent: false,
    });
    const sandbox = await this.connection.call((c) => c.startSandbox(created.id));
    this.emitter.fire();
    return { sandbox, codebaseId: index.codebaseId, folder, preset };
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** A user preset edited since the sandbox was made must not silently keep the old rules. */
function sameRules(s: SandboxInfo, rules: readonly { pattern: string; permission: string; type: string; priority: number }[]): boolean {
  if (!s.permissions || s.permissions.length !== rules.length) return false;
  const key = (r: { pattern: string; permission: string; type: string; priority: number }) =>
    `${r.priority}|${r.type}|${r.permission}|${r.pattern}`;
  const a = s.permissions.map(key).sort();
  const b = rules.map(key).sort();
  return a.every((k, i) => k === b[i]);
}
