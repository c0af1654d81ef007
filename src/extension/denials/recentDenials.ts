/**
 * What the sandbox refused in each folder's latest audited run: the denials, the command and
 * preset they came from, and how to run that command again (once with a grant, or as the
 * preset now stands). The run capability records; the Denials view and its actions read.
 */
import * as vscode from 'vscode';
import type { AccessGrant } from '../../core/denials/accessGrant';
import type { WireDenials } from '../../shared/denialWire';
import type { RefusedConnectionWire } from '../../shared/connectionRefusals';

export interface DeniedRun {
  folder: vscode.WorkspaceFolder;
  /** The preset the command ran under. */
  preset: string;
  command: string;
  denials: WireDenials;
  /** The connections the preset's network refused. */
  connections: readonly RefusedConnectionWire[];
  /** Runs the command again, audited, in a new terminal: with a grant (Allow once) or without. */
  rerun(grant?: AccessGrant): void;
}

export class RecentDenials implements vscode.Disposable {
  private readonly byFolder = new Map<string, DeniedRun>();
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  /** An audited run (or one with refused connections) ended: what it was refused (nothing, too) replaces the folder's previous. */
  record(run: DeniedRun): void {
    const key = run.folder.uri.toString();
    const none = run.denials.denials.length === 0 && run.connections.length === 0;
    if (none && !this.byFolder.has(key)) return;
    if (none) this.byFolder.delete(key);
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
