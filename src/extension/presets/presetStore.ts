/**
 * Keeps the preset catalog current: rebuilt when the `agentfense.presets` setting or a
 * folder's `.agentfense/presets.json` changes, and exposes the active preset's engine for
 * the Explorer preview and sandbox creation.
 *
 * The active preset is the user's choice in this workspace (workspace state: choosing one
 * writes no file into the project), else the `agentfense.activePreset` setting, which is how
 * a team shares one.
 */
import * as vscode from 'vscode';
import { PermissionEngine } from '../../shared/permissions';
import { affects, type Config } from '../config';
import {
  buildPresetCatalog,
  parsePresetFile,
  PresetCatalog,
  type UserPresetMap,
  WORKSPACE_PRESETS_FILE,
} from '../../core/presets/presetCatalog';

const CHOSEN_PRESET_KEY = 'agentfense.chosenPreset';

export class PresetStore implements vscode.Disposable {
  private _catalog: PresetCatalog = buildPresetCatalog({}, {});
  private engine: { catalog: PresetCatalog; name: string; engine: PermissionEngine | undefined } | undefined;
  /** Errors of the presets.json files themselves (syntax), per file. */
  fileErrors: { uri: vscode.Uri; error: string }[] = [];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly config: Config,
    private readonly workspaceState: vscode.Memento,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${WORKSPACE_PRESETS_FILE}`);
    this.disposables.push(
      watcher,
      watcher.onDidChange(() => void this.reload()),
      watcher.onDidCreate(() => void this.reload()),
      watcher.onDidDelete(() => void this.reload()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affects(e, 'presets') || affects(e, 'activePreset')) void this.reload();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.reload()),
    );
  }

  get catalog(): PresetCatalog {
    return this._catalog;
  }

  get activeName(): string {
    return this.workspaceState.get<string>(CHOSEN_PRESET_KEY) || this.config.activePreset;
  }

  /** Makes `name` this workspace's preset for new sandboxes, without touching settings files. */
  async choose(name: string): Promise<void> {
    await this.workspaceState.update(CHOSEN_PRESET_KEY, name);
    this.emitter.fire();
  }

  /**
   * The active preset's engine, or undefined when it is unknown or invalid. Built once per
   * catalog and preset: the Explorer asks for every file it decorates.
   */
  activeEngine(): PermissionEngine | undefined {
    const name = this.activeName;
    if (this.engine?.catalog !== this._catalog || this.engine.name !== name) {
      const rules = this._catalog.get(name)?.rules;
      this.engine = { catalog: this._catalog, name, engine: rules ? new PermissionEngine(rules) : undefined };
    }
    return this.engine.engine;
  }

  async reload(): Promise<void> {
    const workspace: UserPresetMap = {};
    const fileErrors: { uri: vscode.Uri; error: string }[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const uri = vscode.Uri.joinPath(folder.uri, WORKSPACE_PRESETS_FILE);
      let text: string;
      try {
        text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      } catch {
        continue; // no file in this folder
      }
      const parsed = parsePresetFile(text);
      if (parsed.error) fileErrors.push({ uri, error: parsed.error });
      Object.assign(workspace, parsed.presets);
    }
    this._catalog = buildPresetCatalog(this.config.presets, workspace);
    this.fileErrors = fileErrors;
    this.emitter.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
  }
}
