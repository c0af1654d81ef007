/**
 * The MCP server as VS Code's agent sees it without configuration (one definition per
 * workspace folder), and how any agent launches it: the extension host's Node running
 * dist/mcp.js on the folder, with this window's storage folder, so it joins this window's
 * embedded server and its changes appear in this window's review.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from '../context';

export interface McpLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export function mcpLaunch(ctx: Ctx, folder: vscode.WorkspaceFolder): McpLaunch {
  return {
    command: process.execPath,
    args: [
      path.join(ctx.extension.extensionPath, 'dist', 'mcp.js'),
      '--workspace',
      folder.uri.fsPath,
      '--storage-dir',
      ctx.extension.globalStorageUri.fsPath,
    ],
    // In VS Code, process.execPath is Electron: this makes it plain Node.
    env: { ELECTRON_RUN_AS_NODE: '1' },
  };
}

/** One server per workspace folder, as VS Code's agent is offered them. */
export function mcpServerDefinitions(ctx: Ctx): vscode.McpStdioServerDefinition[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => {
    const launch = mcpLaunch(ctx, folder);
    return new vscode.McpStdioServerDefinition(
      `AgentFense (${folder.name})`,
      launch.command,
      launch.args,
      launch.env,
      ctx.extension.extension.packageJSON.version as string,
    );
  });
}

export function registerMcpServerDefinitions(ctx: Ctx): void {
  const changed = new vscode.EventEmitter<void>();
  ctx.push(
    changed,
    vscode.workspace.onDidChangeWorkspaceFolders(() => changed.fire()),
    vscode.lm.registerMcpServerDefinitionProvider('agentfense', {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: () => mcpServerDefinitions(ctx),
    }),
  );
}
