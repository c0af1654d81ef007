/**
 * The agents capability's part of activation: the language-model tools, the MCP server
 * definitions, and the mirror of each folder's chosen preset that agents outside VS Code read
 * (core/agent/activePresets), kept up to date as the choice changes.
 */
import * as vscode from 'vscode';
import { recordActivePreset } from '../../core/agent/activePresets';
import type { Ctx } from '../context';
import { registerLanguageModelTools } from './languageModelTools';
import { registerMcpServerDefinitions } from './mcpServerDefinition';

export function registerAgents(ctx: Ctx): void {
  registerLanguageModelTools(ctx);
  registerMcpServerDefinitions(ctx);
  const mirror = () => {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      try {
        recordActivePreset(ctx.extension.globalStorageUri.fsPath, folder.uri.fsPath, ctx.presets.activeName);
      } catch (e) {
        ctx.log.warn(`Could not record the active preset for agents: ${(e as Error).message}`);
      }
    }
  };
  mirror();
  ctx.push(ctx.presets.onDidChange(mirror), vscode.workspace.onDidChangeWorkspaceFolders(mirror));
}
