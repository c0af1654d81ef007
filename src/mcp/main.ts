/**
 * `agentfense-mcp` (dist/mcp.js): AgentFense as an MCP server on stdio, for any agent (Claude
 * Code, Cursor, Cline, Codex CLI, VS Code's own). stdout carries the protocol: every log line
 * goes to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseMcpOptions, UsageError, USAGE } from './mcpOptions';
import { McpWorkspace } from './mcpWorkspace';
import { registerTools } from './mcpTools';

const log = {
  info: (m: string) => process.stderr.write(`[agentfense-mcp] ${m}\n`),
  debug: () => undefined,
  error: (m: string) => process.stderr.write(`[agentfense-mcp] error: ${m}\n`),
};

async function main(): Promise<void> {
  let options;
  try {
    options = parseMcpOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`agentfense-mcp: ${e.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const workspace = new McpWorkspace(options, log);
  const server = new McpServer(
    { name: 'agentfense', title: 'AgentFense sandbox', version: '0.1.0' },
    {
      instructions:
        `Run commands for the workspace ${options.workspace} in the user's AgentFense sandbox with the run tool. ` +
        "Writes wait for the user's review; secrets are not in the sandbox.",
    },
  );
  registerTools(server, workspace);
  const stop = async () => {
    await server.close().catch(() => undefined);
    await workspace.dispose();
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop());
  process.stdin.on('end', () => void stop());
  await server.connect(new StdioServerTransport());
  log.info(`serving ${options.workspace} (storage ${options.endpoint ?? options.storageDir})`);
}

main().catch((e: unknown) => {
  log.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
