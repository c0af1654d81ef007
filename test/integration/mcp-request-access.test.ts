/**
 * `request_access`: an agent asks, the user decides through the MCP client (elicitation),
 * the official SDK's client answering as the user would. Allow once runs the agent's command
 * with the grant and leaves the policy as it was; Allow for the workspace writes the narrowest
 * rule into .agentfense/presets.json and later runs have it; Deny (or a dismissed question)
 * grants nothing; a client that cannot ask gets an error that says where the user can grant.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/mcp-request-access.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';
import { connectMcp } from '../helpers/mcpClient';

let server: TestServer;
let folder: string;
let storage: string;
const asked: ElicitRequest['params'][] = [];
let reply: ElicitResult = { action: 'decline' };

before(async () => {
  server = await startServer();
  folder = makeTempDir('af-mcp-access-');
  storage = makeTempDir('af-mcp-access-storage-');
  fs.writeFileSync(join(folder, '.env'), 'TOKEN=from-the-user\n');
  fs.mkdirSync(join(folder, 'docs'));
  fs.writeFileSync(join(folder, 'docs', 'spec.md'), '# spec\n');
});
after(async () => {
  await server.stop();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(storage, { recursive: true, force: true });
});

const textOf = (r: unknown) =>
  ((r as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

const args = () => [
  '--workspace',
  folder,
  '--endpoint',
  server.address,
  '--storage-dir',
  storage,
  '--preset',
  'agent-safe',
];

describe('request_access through a client that asks its user', () => {
  let client: Client;
  before(async () => {
    client = await connectMcp({ args: args(), onElicit: (q) => (asked.push(q), reply) });
  });
  after(() => client.close());

  const request = (a: Record<string, string>) => client.callTool({ name: 'request_access', arguments: a });

  it('the user is asked, with the reason and the secrets rule named; Deny grants nothing', async () => {
    reply = { action: 'accept', content: { decision: 'deny' } };
    const t = textOf(
      await request({ path: '.env', access: 'read', reason: 'the tests need TOKEN', command: 'cat .env' }),
    );
    assert.match(t, /The user denied access to \/workspace\/\.env/);
    const q = asked.at(-1)!;
    assert.match(q.message, /the tests need TOKEN/);
    assert.match(q.message, /secrets rule `\*\*\/\.env\*`/);
    assert.match(q.message, /command it would run: cat \.env/);
    assert.equal(fs.existsSync(join(folder, '.agentfense')), false, 'no policy written');

    reply = { action: 'decline' };
    assert.match(textOf(await request({ path: '.env', access: 'read', reason: 'r', command: 'cat .env' })), /denied/);
  });

  it('Allow once runs the command with the access, once', async () => {
    reply = { action: 'accept', content: { decision: 'once' } };
    const t = textOf(await request({ path: '.env', access: 'read', reason: 'r', command: 'cat .env' }));
    assert.match(t, /allowed it once/);
    assert.match(t, /TOKEN=from-the-user/);
    const after = textOf(await client.callTool({ name: 'run', arguments: { command: 'cat .env' } }));
    assert.match(after, /\.env: No such file/, 'the next run is refused again');
    assert.equal(fs.existsSync(join(folder, '.agentfense')), false, 'no policy written');
  });

  it('Allow for the workspace writes the narrowest rule as a preset extending the one in use; runs use it', async () => {
    reply = { action: 'accept', content: { decision: 'workspace' } };
    const t = textOf(
      await request({
        path: 'docs/spec.md',
        access: 'write',
        reason: 'fix a typo',
        command: 'echo more >> docs/spec.md',
      }),
    );
    assert.match(t, /preset "agent-safe-granted"/);
    assert.match(t, /exit code 0/);
    const presets = JSON.parse(fs.readFileSync(join(folder, '.agentfense', 'presets.json'), 'utf8'));
    assert.deepEqual(presets['agent-safe-granted'].rules, [
      { pattern: '/docs/spec.md', permission: 'write', type: 'file', priority: 1 },
    ]);
    assert.equal(presets['agent-safe-granted'].extends, 'agent-safe');
    const again = textOf(
      await client.callTool({ name: 'run', arguments: { command: 'echo again >> docs/spec.md; touch docs/other.md' } }),
    );
    assert.match(again, /agent-safe-granted/);
    assert.match(again, /not merged: docs\/other\.md: the preset makes it read, not write/, 'only that file');
    assert.doesNotMatch(again, /added\s+docs\/other\.md/);
    assert.equal(
      fs.readFileSync(join(folder, 'docs', 'spec.md'), 'utf8'),
      '# spec\n',
      'the workspace waits for review',
    );
  });

  it('an access the preset already gives is not asked for; a path outside /workspace is an error', async () => {
    const before = asked.length;
    assert.match(textOf(await request({ path: 'docs/spec.md', access: 'read', reason: 'r' })), /already write/);
    const outside = await request({ path: '/etc/passwd', access: 'read', reason: 'r' });
    assert.equal(outside.isError, true);
    assert.match(textOf(outside), /outside \/workspace/);
    assert.equal(asked.length, before);
  });
});

describe('request_access through a client that cannot ask', () => {
  it('is an error that says where the user can grant it', async () => {
    const client = await connectMcp({ args: args() });
    try {
      const r = await client.callTool({
        name: 'request_access',
        arguments: { path: '.env', access: 'read', reason: 'r' },
      });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /cannot ask the user[\s\S]*Denials view/);
    } finally {
      await client.close();
    }
  });
});
