/**
 * The official MCP SDK's client, launching an MCP server over stdio as an agent does: by
 * default dist/mcp.js with the given arguments. `onElicit` makes it a client that can ask its
 * user (the elicitation capability), answering with what the function returns.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';

export const MCP_JS = join(__dirname, '..', '..', 'dist', 'mcp.js');

export interface McpLaunch {
  name?: string;
  /** Default: this Node running dist/mcp.js. */
  command?: string;
  args: string[];
  env?: Record<string, string>;
  onElicit?: (request: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;
}

export async function connectMcp(launch: McpLaunch): Promise<Client> {
  const client = new Client(
    { name: launch.name ?? 'agentfense-test', version: '1.0.0' },
    launch.onElicit ? { capabilities: { elicitation: {} } } : {},
  );
  const onElicit = launch.onElicit;
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, (request) => onElicit(request.params));
  await client.connect(
    new StdioClientTransport({
      command: launch.command ?? process.execPath,
      args: launch.command ? launch.args : [MCP_JS, ...launch.args],
      ...(launch.env ? { env: launch.env } : {}),
      stderr: 'pipe',
    }),
  );
  return client;
}
