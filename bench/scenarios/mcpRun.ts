/**
 * 9. MCP run overhead: an agent's `run true` through the MCP server (the official SDK's client
 * over stdio, dist/mcp.js, on a warm 200-file folder: synced, sandbox running) against a
 * direct `exec true` on the same sandbox. Interleaved in blocks. The difference is what the
 * MCP path adds: JSON-RPC over stdio, the folder's sync check, finding the sandbox, and the
 * change listing after the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { nowMs, summarize } from '../stats';

const BLOCK = 20;
const FOLDER_FILES = 200;

export const mcpRun: Scenario = {
  name: 'mcp-run',
  title: '9 MCP run overhead',
  async run(ctx) {
    const server = await ctx.server();
    const folder = ctx.path('mcp-folder');
    for (let i = 0; i < FOLDER_FILES; i++) {
      mkdirSync(join(folder, `src/m${i % 10}`), { recursive: true });
      writeFileSync(join(folder, `src/m${i % 10}/f${i}.ts`), `export const v${i} = ${i};\n`);
    }
    const client = new Client({ name: 'bench', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          join(ctx.repoRoot, 'dist', 'mcp.js'),
          '--workspace',
          folder,
          '--endpoint',
          `unix:${server.socketPath}`,
          '--storage-dir',
          ctx.path('mcp-storage'),
          '--preset',
          'development',
        ],
        stderr: 'pipe',
      }),
    );
    try {
      const mcpRunTrue = async () => {
        const r = (await client.callTool({ name: 'run', arguments: { command: 'true' } })) as CallToolResult;
        const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
        if (r.isError || !/exit code 0/.test(text)) throw new Error(`MCP run failed: ${text.slice(0, 300)}`);
        return /sandbox (sb_[0-9a-f]+)/.exec(text)![1]!;
      };
      // The first call uploads the folder and creates the sandbox: warm-up, not measured.
      const sandboxId = await mcpRunTrue();
      for (let i = 0; i < ctx.sizes.execWarmupCalls; i++) {
        await mcpRunTrue();
        await server.rpc.exec(sandboxId, 'true');
      }
      const viaMcp: number[] = [];
      const direct: number[] = [];
      const calls = Math.max(10, Math.round(ctx.sizes.execLatencyCalls / 5));
      for (let done = 0; done < calls; done += BLOCK) {
        const n = Math.min(BLOCK, calls - done);
        for (let i = 0; i < n; i++) {
          const t = nowMs();
          await mcpRunTrue();
          viaMcp.push(nowMs() - t);
        }
        for (let i = 0; i < n; i++) {
          const t = nowMs();
          const r = await server.rpc.exec(sandboxId, 'true');
          if (r.exitCode !== 0) throw new Error(`exec failed: ${r.stderr}`);
          direct.push(nowMs() - t);
        }
      }
      const m = summarize(viaMcp);
      const d = summarize(direct);
      const added = m.p50 - d.p50;
      return {
        rows: [
          row({
            scenario: 'mcp-run',
            metric: 'MCP `run true` p50 (warm 200-file folder)',
            value: m.p50,
            unit: 'ms',
            baseline: { name: 'direct exec `true`', value: d.p50 },
          }),
          {
            ...row({
              scenario: 'mcp-run',
              metric: 'added by the MCP path, p50',
              value: added,
              unit: 'ms',
              note: 'stdio JSON-RPC + the folder check (a walk only after a change)',
            }),
            goal: goals.atMost(5, 'ms', added),
          },
        ],
        details: { calls, mcp: m, direct: d, folderFiles: FOLDER_FILES },
      };
    } finally {
      await client.close();
    }
  },
};
