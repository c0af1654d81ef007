/**
 * The MCP server (dist/mcp.js) as an agent reaches it: the official MCP SDK's Client over
 * StdioClientTransport spawns it against a real AgentFense server and real bubblewrap. A run
 * reports exit code, output and the files it changed; the change waits in the codebase, not
 * in the folder; hidden files are absent; cancelling kills the command; bad arguments get an
 * error and the server lives on. Then the same without --endpoint: it starts the embedded
 * server in its storage folder, as the extension does.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/mcp-server.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { call, makeTempDir, startServer, type TestServer } from '../helpers/server';
import { processesMatching } from '../helpers/hostProcesses';
import { settle } from '../helpers/waitFor';
import { connectMcp } from '../helpers/mcpClient';

let server: TestServer;
let folder: string;
let storage: string;

before(async () => {
  server = await startServer();
  folder = makeTempDir('af-mcp-folder-');
  storage = makeTempDir('af-mcp-storage-');
  fs.writeFileSync(join(folder, '.env'), 'API_KEY=fake-secret-for-tests\n');
  fs.mkdirSync(join(folder, 'src'));
  fs.writeFileSync(join(folder, 'src', 'app.txt'), 'app\n');
});
after(async () => {
  await server.stop();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(storage, { recursive: true, force: true });
});

const connect = (args: string[]): Promise<Client> => connectMcp({ args });

const textOf = (r: unknown) =>
  ((r as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('the MCP server against a real AgentFense server', () => {
  let client: Client;
  before(async () => {
    client = await connect(['--workspace', folder, '--endpoint', server.address, '--storage-dir', storage]);
  });
  after(() => client.close());

  it('lists its tools, each described for a model', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'changes',
      'list_presets',
      'read_file',
      'request_access',
      'run',
    ]);
    const run = tools.find((t) => t.name === 'run')!;
    assert.match(run.description ?? '', /review/);
    assert.deepEqual(run.inputSchema.required, ['command']);
  });

  it('runs a command: output, exit code, the file it wrote waits for review, .env is absent', async () => {
    const r = await client.callTool({
      name: 'run',
      arguments: { command: 'cat .env; echo "made by $((6*7))" > made.txt; ls -a', preset: 'development' },
    });
    const t = textOf(r);
    assert.equal(r.isError, false, t);
    assert.match(t, /exit code 0/);
    assert.match(t, /\.env: No such file or directory/);
    assert.doesNotMatch(t, /fake-secret-for-tests/);
    assert.match(t, /This run changed 1 file[\s\S]*added\s+made\.txt/);
    assert.equal(fs.existsSync(join(folder, 'made.txt')), false, 'nothing reaches the folder unreviewed');
    assert.match(textOf(await client.callTool({ name: 'changes', arguments: {} })), /added\s+made\.txt/);
    const read = await client.callTool({ name: 'read_file', arguments: { path: 'made.txt' } });
    assert.equal(textOf(read), 'made by 42\n');
  });

  it('reads files as the sandbox sees them: a hidden file is an error that says so', async () => {
    const r = await client.callTool({ name: 'read_file', arguments: { path: '.env' } });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /No such file/);
    const outside = await client.callTool({ name: 'read_file', arguments: { path: '../../etc/passwd' } });
    assert.equal(outside.isError, true);
    assert.match(textOf(outside), /outside \/workspace/);
  });

  it('with audit, a run tells the model what the sandbox refused and by which rule', async () => {
    const r = await client.callTool({ name: 'run', arguments: { command: 'cat .env; cat src/app.txt', audit: true } });
    const t = textOf(r);
    assert.match(t, /The sandbox refused 1 access by policy, not because the files are missing/);
    assert.match(
      t,
      /\/workspace\/\.env is hidden \(absent in the sandbox\) by rule `\*\*\/\.env\*` \(none\) of the agent-safe preset/,
    );
    assert.match(t, /ask the user to grant access/);
    const plain = textOf(await client.callTool({ name: 'run', arguments: { command: 'cat .env' } }));
    assert.match(plain, /run it again with audit/);
  });

  it('a run sees the folder as it is now: a file written just before the run, then changed', async () => {
    const run = async (command: string) => textOf(await client.callTool({ name: 'run', arguments: { command } }));
    await run('true'); // the folder is synced and watched
    for (const [content, expect] of [
      ['first', /fresh=first/],
      ['second', /fresh=second/],
    ] as const) {
      fs.writeFileSync(join(folder, 'src', 'fresh.txt'), content);
      assert.match(await run('echo "fresh=$(cat src/fresh.txt)"'), expect);
    }
  });

  it('a sandbox stopped between two runs is found again: the second run still runs', async () => {
    const first = textOf(await client.callTool({ name: 'run', arguments: { command: 'echo one' } }));
    const sandboxId = /sandbox (sb_[0-9a-f]+)/.exec(first)![1]!;
    await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId });
    const second = await client.callTool({ name: 'run', arguments: { command: 'echo "two=$((1+1))"' } });
    assert.equal(second.isError, false, textOf(second));
    assert.match(textOf(second), /exit code 0[\s\S]*two=2/);
  });

  it('lists the presets with the default marked', async () => {
    const t = textOf(await client.callTool({ name: 'list_presets', arguments: {} }));
    assert.match(t, /- agent-safe \(default\)/);
    assert.match(t, /- full-access/);
  });

  it('reports progress of a long command, and a timeout as an error the model can act on', async () => {
    const progress: string[] = [];
    const r = await client.callTool({ name: 'run', arguments: { command: 'sleep 5', timeout_seconds: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 60_000,
    });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /timed out[\s\S]*longer timeout_seconds/);
    assert.ok(progress.length >= 1, 'at least one progress notification');
    assert.match(progress[0]!, /\(\d+ s\)/);
  });

  it("cancelling the request kills the command's processes", async () => {
    const abort = new AbortController();
    const call = client.callTool({ name: 'run', arguments: { command: 'sleep 4321' } }, undefined, {
      signal: abort.signal,
      timeout: 60_000,
    });
    await settle(
      () => processesMatching('sleep 4321').length,
      (n) => n > 0,
    );
    abort.abort();
    await assert.rejects(call);
    const left = await settle(
      () => processesMatching('sleep 4321'),
      (p) => p.length === 0,
    );
    assert.deepEqual(left, []);
  });

  it('bad arguments get an error, and the server lives on', async () => {
    const bad = await client.callTool({ name: 'run', arguments: { command: 42 } }).then(
      (r) => textOf(r),
      (e: Error) => e.message,
    );
    assert.match(bad, /command/);
    const unknown = await client.callTool({ name: 'run', arguments: { command: 'true', preset: 'no-such-preset' } });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /Unknown AgentFense preset "no-such-preset"/);
    assert.equal((await client.listTools()).tools.length, 5);
  });
});

describe('the MCP server on its own', () => {
  it('starts the embedded server in its storage folder, as the extension does', async () => {
    const own = makeTempDir('af-mcp-own-');
    const client = await connect(['--workspace', folder, '--storage-dir', own, '--preset', 'development']);
    try {
      const r = await client.callTool({ name: 'run', arguments: { command: 'echo "sum=$((2+3))"' } });
      assert.match(textOf(r), /sum=5/);
      assert.ok(fs.existsSync(join(own, 'server.log')), 'the embedded server logs in the storage folder');
    } finally {
      await client.close();
      for (const p of processesMatching(join(own, 'data'))) process.kill(p.pid, 'SIGTERM');
      await settle(
        () => processesMatching(join(own, 'data')).length,
        (n) => n === 0,
      );
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
