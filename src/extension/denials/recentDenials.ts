/**
 * What the sandbox refused in each folder's latest audited run: the denials, the command and
 * preset they came from, and how to run that command again (once with a grant, or as the
 * preset now stands). The run capability records; the Denials view and its actions read.
 */
import * as vscode from 'vscode';
import type { AccessGrant } from '../../core/denials/accessGrant';
import type { WireDenials } from '../../shared/denialWire';

export interface DeniedRun {
  folder: vscode.WorkspaceFolder;
  /** The preset the command ran under. */
  preset: string;
  command: string;
  denials: WireDenials;
  /** Runs the command again, audited, in a new terminal: with a grant (Allow once) or without. */
  rerun(grant?: AccessGrant): void;
}

export class RecentDenials implements vscode.Disposable {
  private readonly byFolder = new Map<string, DeniedRun>();
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  /** An audited run ended: its denials (none, too) replace the folder's previous ones. */
  record(run: DeniedRun): void {
    const key = run.folder.uri.toString();
    if (run.denials.denials.length === 0 && !this.byFolder.has(key)) return;
    if (run.denials.denials.length === 0) this.byFolder.delete(key);
    else this.byFolder.set(key, run);
    this.emitter.fire();
  }

  get runs(): DeniedRun[] {
    return [...this.byFolder.values()];
  }

  clear(): void {
    this.byFolder.clear();
    this.emitter.fire();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
