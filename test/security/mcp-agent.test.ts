/**
 * The MCP server from an agent's side, as an attacker: a path that tries to break out of its
 * quoting or out of /workspace, a working directory outside /workspace, and what the agent
 * may learn about hidden files. And what it leaves on the host: private to the user.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectMcp } from '../helpers/mcpClient';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { recordActivePreset } from '../../src/core/agent/activePresets';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';

let server: TestServer;
let folder: string;
let storage: string;
let client: Client;

before(async () => {
  server = await startServer();
  folder = makeTempDir('af-mcp-attack-');
  storage = makeTempDir('af-mcp-attack-storage-');
  fs.writeFileSync(join(folder, 'a.txt'), 'a\n');
  fs.mkdirSync(join(folder, 'secrets'));
  fs.writeFileSync(join(folder, 'secrets', 'key.pem'), 'PRIVATE KEY MATERIAL\n');
  client = await connectMcp({
    name: 'attacker',
    args: ['--workspace', folder, '--endpoint', server.address, '--storage-dir', storage],
  });
});
after(async () => {
  await client.close();
  await server.stop();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(storage, { recursive: true, force: true });
});

const call = async (name: string, args: Record<string, unknown>) => {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { isError: r.isError, text: r.content.map((c) => (c.type === 'text' ? c.text : '')).join('') };
};

describe('the MCP tools, attacked', () => {
  it("read_file's path is one argument to cat: quotes and separators in it run nothing", async () => {
    for (const path of [
      "a.txt'; touch pwned; echo '",
      'a.txt; touch pwned',
      '$(touch pwned)',
      '`touch pwned`',
      '-n a.txt',
    ]) {
      const r = await call('read_file', { path, preset: 'development' });
      assert.equal(r.isError, true, `${path}: ${r.text}`);
    }
    const changes = await call('changes', {});
    assert.doesNotMatch(changes.text, /pwned/, 'no file was created by a path');
  });

  it('a path or working directory outside /workspace is refused before anything runs', async () => {
    for (const path of ['../etc/passwd', '/etc/passwd', '/workspace/../root']) {
      const r = await call('read_file', { path });
      assert.equal(r.isError, true);
      assert.match(r.text, /outside \/workspace/);
    }
    const r = await call('run', { command: 'pwd', cwd: '../..' });
    assert.equal(r.isError, true);
    assert.match(r.text, /outside \/workspace/);
  });

  it('a hidden file stays hidden through every tool (agent-safe, the default)', async () => {
    const read = await call('read_file', { path: 'secrets/key.pem' });
    assert.equal(read.isError, true);
    assert.doesNotMatch(read.text, /PRIVATE KEY/);
    const run = await call('run', { command: 'cat secrets/key.pem; ls -la secrets; grep -r PRIVATE . ; true' });
    assert.doesNotMatch(run.text, /PRIVATE KEY MATERIAL/);
  });

  it('what it keeps on the host is private to the user', async () => {
    await call('run', { command: 'true' });
    const indexes = join(storage, 'indexes');
    assert.equal(fs.statSync(indexes).mode & 0o777, 0o700);
    for (const f of fs.readdirSync(indexes)) assert.equal(fs.statSync(join(indexes, f)).mode & 0o777, 0o600, f);
    const mirror = makeTempDir('af-presets-mirror-');
    recordActivePreset(join(mirror, 'store'), '/some/folder', 'development');
    assert.equal(fs.statSync(join(mirror, 'store')).mode & 0o777, 0o700);
    assert.equal(fs.statSync(join(mirror, 'store', 'active-presets.json')).mode & 0o777, 0o600);
    fs.rmSync(mirror, { recursive: true, force: true });
  });
});
