/**
 * "AgentFense: Connect an Agent…": the MCP configuration for Claude Code, Cursor, Cline or
 * Codex CLI, for one folder. It is copied to the clipboard and shown; for Cursor, whose file
 * lives in the workspace, it can also be written (merged with what is there).
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { agentConfig, mergeMcpJson, type AgentKind } from './agentConfigs';
import { mcpLaunch, type McpLaunch } from './mcpServerDefinition';

const AGENTS: { kind: AgentKind; label: string }[] = [
  { kind: 'claude-code', label: 'Claude Code' },
  { kind: 'cursor', label: 'Cursor' },
  { kind: 'cline', label: 'Cline' },
  { kind: 'codex', label: 'Codex CLI' },
];

export async function connectAgent(ctx: Ctx, kind?: AgentKind): Promise<void> {
  const folder = await ctx.pickFolder('Workspace folder the agent works on');
  if (!folder) return;
  const agent =
    kind ??
    (
      await vscode.window.showQuickPick(
        AGENTS.map((a) => ({ label: a.label, agent: a.kind })),
        {
          title: 'Connect an agent to the AgentFense sandbox',
          placeHolder: "VS Code's own agent already sees AgentFense's tools and MCP server",
        },
      )
    )?.agent;
  if (!agent) return;
  const launch = mcpLaunch(ctx, folder);
  const config = agentConfig(agent, launch);
  await vscode.env.clipboard.writeText(config.snippet);
  const doc = await vscode.workspace.openTextDocument({
    language: config.language,
    content: config.snippet + '\n',
  });
  await vscode.window.showTextDocument(doc, { preview: true });
  const actions = agent === 'cursor' ? ['Write .cursor/mcp.json'] : [];
  const choice = await vscode.window.showInformationMessage(
    `AgentFense: the ${config.label} configuration is on the clipboard. ${config.where}`,
    ...actions,
  );
  if (choice === 'Write .cursor/mcp.json') await writeCursorConfig(folder, launch);
}

async function writeCursorConfig(folder: vscode.WorkspaceFolder, launch: McpLaunch): Promise<void> {
  const uri = vscode.Uri.joinPath(folder.uri, '.cursor', 'mcp.json');
  let existing: string | undefined;
  try {
    existing = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    existing = undefined; // none yet
  }
  let merged: string;
  try {
    merged = mergeMcpJson(existing, launch);
  } catch (e) {
    void vscode.window.showErrorMessage(
      `AgentFense: ${uri.fsPath} is not valid JSON (${(e as Error).message}); it was left as it is.`,
    );
    return;
  }
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(merged));
  void vscode.window.showInformationMessage(`AgentFense: wrote ${vscode.workspace.asRelativePath(uri)}.`);
}
