/** Typed access to the `agentfense.*` settings, read fresh each time (they change at runtime). */
import * as vscode from 'vscode';
import type { UserPresetMap } from '../core/presets/presetCatalog';

export const SECTION = 'agentfense';
export const DEFAULT_PRESET = 'agent-safe';
export const DEFAULT_MAX_DIFF_BYTES = 2 * 1024 * 1024;
/** A command left running is stopped after 30 minutes unless the user says otherwise. */
export const DEFAULT_TIMEOUT_SECONDS = 1800;

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** Empty: start and use the embedded server. */
  get endpoint(): string {
    return (this.cfg.get<string>('endpoint') ?? '').trim();
  }

  get tls(): boolean {
    return this.cfg.get<boolean>('tls') ?? false;
  }

  /** The shared default (settings); the workspace's own choice wins (PresetStore.activeName). */
  get activePreset(): string {
    return this.cfg.get<string>('activePreset') || DEFAULT_PRESET;
  }

  get presets(): UserPresetMap {
    return this.cfg.get<UserPresetMap>('presets') ?? {};
  }

  get ignore(): string[] {
    return (this.cfg.get<string[]>('ignore') ?? []).filter((s) => typeof s === 'string' && s.trim() !== '');
  }

  get permissionPreview(): boolean {
    return this.cfg.get<boolean>('permissionPreview') ?? true;
  }

  setPermissionPreview(on: boolean): Thenable<void> {
    return this.cfg.update('permissionPreview', on, vscode.ConfigurationTarget.Global);
  }

  get showIgnoredChanges(): boolean {
    return this.cfg.get<boolean>('review.showIgnored') ?? false;
  }

  get maxDiffBytes(): number {
    const n = this.cfg.get<number>('review.maxDiffBytes') ?? DEFAULT_MAX_DIFF_BYTES;
    return n > 0 ? n : DEFAULT_MAX_DIFF_BYTES;
  }

  /** Override for dist/server.js (development of the server). */
  get serverPath(): string {
    return (this.cfg.get<string>('server.path') ?? '').trim();
  }

  /** Seconds; 0 means no timeout. The fallback matches package.json's default. */
  get defaultTimeoutMs(): number | undefined {
    const s = this.cfg.get<number>('defaultTimeout') ?? DEFAULT_TIMEOUT_SECONDS;
    return s > 0 ? s * 1000 : undefined;
  }

  get openWalkthroughOnFirstRun(): boolean {
    return this.cfg.get<boolean>('walkthrough.openOnFirstRun') ?? true;
  }

  /** A new run replaces the finished terminal of the same kind (false: one terminal per run). */
  get reuseTerminals(): boolean {
    return this.cfg.get<boolean>('terminal.reuse') ?? true;
  }

  /** `off` or `on` for every preset, or undefined: each preset's own network (true was `on` before presets had one). */
  get networkOverride(): 'off' | 'on' | undefined {
    const v = this.cfg.get<unknown>('network');
    if (v === true || v === 'on') return 'on';
    if (v === 'off') return 'off';
    return undefined;
  }
}

export function affects(e: vscode.ConfigurationChangeEvent, key: string): boolean {
  return e.affectsConfiguration(`${SECTION}.${key}`);
}
