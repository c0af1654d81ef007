/**
 * How each agent is told about the MCP server: the command or file its documentation asks
 * for. vscode-free, so each snippet is unit-tested.
 */
import { shellQuote } from '../../shared/shellQuote';
import type { McpLaunch } from './mcpServerDefinition';

export type AgentKind = 'claude-code' | 'cursor' | 'cline' | 'codex';

export interface AgentConfig {
  agent: AgentKind;
  label: string;
  /** Where the snippet goes, in words. */
  where: string;
  /** The snippet's language in an editor. */
  language: 'shellscript' | 'json' | 'toml';
  snippet: string;
}

const tomlString = (s: string) => JSON.stringify(s);

/** `{ "mcpServers": { "agentfense": … } }`: the shape Cursor and Cline read. */
export function mcpServersJson(launch: McpLaunch): { mcpServers: Record<string, unknown> } {
  return { mcpServers: { agentfense: { command: launch.command, args: launch.args, env: launch.env } } };
}

export function agentConfig(agent: AgentKind, launch: McpLaunch): AgentConfig {
  switch (agent) {
    case 'claude-code': {
      const env = Object.entries(launch.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
      return {
        agent,
        label: 'Claude Code',
        where: 'Run this in a terminal (it adds the server to Claude Code for this project):',
        language: 'shellscript',
        snippet: ['claude', 'mcp', 'add', 'agentfense', ...env, '--', launch.command, ...launch.args]
          .map(shellQuote)
          .join(' '),
      };
    }
    case 'cursor':
      return {
        agent,
        label: 'Cursor',
        where: '.cursor/mcp.json in the workspace (merged with what is there):',
        language: 'json',
        snippet: JSON.stringify(mcpServersJson(launch), null, 2),
      };
    case 'cline':
      return {
        agent,
        label: 'Cline',
        where: "Cline's MCP settings (Cline › MCP Servers › Configure › cline_mcp_settings.json):",
        language: 'json',
        snippet: JSON.stringify(mcpServersJson(launch), null, 2),
      };
    case 'codex':
      return {
        agent,
        label: 'Codex CLI',
        where: '~/.codex/config.toml:',
        language: 'toml',
        snippet: [
          '[mcp_servers.agentfense]',
          `command = ${tomlString(launch.command)}`,
          `args = [${launch.args.map(tomlString).join(', ')}]`,
          `env = { ${Object.entries(launch.env)
            .map(([k, v]) => `${k} = ${tomlString(v)}`)
            .join(', ')} }`,
        ].join('\n'),
      };
  }
}

/** Merges our server into an existing `mcp.json` text; an unreadable one is an error, never overwritten. */
export function mergeMcpJson(existing: string | undefined, launch: McpLaunch): string {
  let parsed: Record<string, unknown> = {};
  if (existing !== undefined && existing.trim() !== '') {
    const value: unknown = JSON.parse(existing);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('it is not a JSON object');
    parsed = value as Record<string, unknown>;
  }
  const servers = (parsed.mcpServers && typeof parsed.mcpServers === 'object' ? parsed.mcpServers : {}) as Record<
    string,
    unknown
  >;
  return (
    JSON.stringify({ ...parsed, mcpServers: { ...servers, ...mcpServersJson(launch).mcpServers } }, null, 2) + '\n'
  );
}
