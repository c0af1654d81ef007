/** Typed access to the `agentfense.*` settings, read fresh each time (they change at runtime). */
import * as vscode from 'vscode';
import type { UserPresetMap } from '../core/presets/presetCatalog';
import { parseProvider, type CloudSettings } from '../cloud/cloudProviders';

export const SECTION = 'agentfense';
export const DEFAULT_PRESET = 'agent-safe';
export const DEFAULT_MAX_DIFF_BYTES = 2 * 1024 * 1024;
/** A command left running is stopped after 30 minutes unless the user says otherwise. */
export const DEFAULT_TIMEOUT_SECONDS = 1800;

/** Where sandboxes run: this machine's embedded server (or `endpoint`), or an E2B-protocol cloud. */
export type BackendKind = 'embedded' | 'agentfense' | 'e2b';
/** A cloud sandbox lives 15 minutes past its last run unless the user says otherwise. */
export const DEFAULT_CLOUD_TIMEOUT_SECONDS = 900;

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** Empty: start and use the embedded server. */
  get endpoint(): string {
    return (this.cfg.get<string>('endpoint') ?? '').trim();
  }

  /** Read once at activation: switching backends reloads the window (context.ts). */
  get backend(): BackendKind {
    const v = this.cfg.get<string>('backend');
    if (v === 'agentfense' || v === 'e2b') return v;
    return 'embedded';
  }

  /** The cloud backend's settings; a wrong provider is an error that names it (cloudProviders.ts). */
  get cloud(): CloudSettings {
    const text = (key: string) => (this.cfg.get<string>(`cloud.${key}`) ?? '').trim() || undefined;
    const seconds = this.cfg.get<number>('cloud.timeout') ?? DEFAULT_CLOUD_TIMEOUT_SECONDS;
    return {
      provider: parseProvider(this.cfg.get<string>('cloud.provider') ?? 'e2b'),
      domain: text('domain'),
      apiUrl: text('apiUrl'),
      sandboxUrl: text('sandboxUrl'),
      template: text('template') ?? 'base',
      timeoutMs: (seconds > 0 ? seconds : DEFAULT_CLOUD_TIMEOUT_SECONDS) * 1000,
    };
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
