/**
 * Why a workspace file is not uploaded, per workspace folder, kept current for the Explorer
 * preview: the same walker rules and the same `agentfense.ignore` patterns the upload uses
 * (context.ts gives core/sync/workspaceSync `config.ignore` for walkWorkspace; this gives the same
 * to UploadExclusions), re-read when an ignore file or the setting changes.
 */
import * as vscode from 'vscode';
import { IGNORE_FILE_NAMES } from '../../core/sync/ignoreRules';
import { UploadExclusions, type UploadExclusion } from '../../core/sync/uploadExclusions';
import { affects, type Config } from '../config';

export class WorkspaceExclusions implements vscode.Disposable {
  private readonly byFolder = new Map<string, UploadExclusions>();
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fired when any answer may have changed. */
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly config: Config) {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/{${IGNORE_FILE_NAMES.join(',')}}`);
    const ignoreFilesChanged = () => {
      for (const exclusions of this.byFolder.values()) exclusions.forget();
      this.emitter.fire();
    };
    this.disposables.push(
      watcher,
      watcher.onDidChange(ignoreFilesChanged),
      watcher.onDidCreate(ignoreFilesChanged),
      watcher.onDidDelete(ignoreFilesChanged),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!affects(e, 'ignore')) return;
        this.byFolder.clear();
        this.emitter.fire();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.byFolder.clear()),
    );
  }

  /** Undefined when the upload would send `relPath` of `folder`. */
  exclusionOf(folder: vscode.WorkspaceFolder, relPath: string): Promise<UploadExclusion | undefined> {
    const key = folder.uri.toString();
    let exclusions = this.byFolder.get(key);
    if (!exclusions) {
      exclusions = new UploadExclusions(folder.uri.fsPath, { ignore: this.config.ignore });
      this.byFolder.set(key, exclusions);
    }
    return exclusions.exclusionOf(relPath);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
  }
}
