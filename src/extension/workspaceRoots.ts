/** VS Code's workspace folders as the core's WorkspaceRoots, and back. */
import * as vscode from 'vscode';
import type { WorkspaceRoot } from '../core/workspaceRoot';

export function rootOf(folder: vscode.WorkspaceFolder): WorkspaceRoot {
  return { name: folder.name, path: folder.uri.fsPath };
}

export function folderOf(root: WorkspaceRoot): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === root.path);
}
