/**
 * A denial turned into a grant, through the core against the real server: the narrowest rule
 * for the refused access (that path, that level), Allow once (a sandbox of the preset plus the
 * grant, destroyed after its run), and nothing else opened: the next run is refused again.
 * `.env` is never uploaded by default; a grant of it uploads it, for the granted sandbox only
 * to see.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/access-grant.test.ts
 */
import { BWRAP } from '../../src/shared/sandboxRuntime';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { NETWORK_OFF } from '../../src/shared/networkPolicy';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentFenseBackend, SandboxClient } from '../../src/client';
import { AgentWorkspace } from '../../src/core/agent/agentWorkspace';
import { grantFor } from '../../src/core/denials/accessGrant';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { SandboxProvisioner } from '../../src/core/run/sandboxProvisioner';
import { WorkspaceSync } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG } from '../../src/core/workspaceRoot';
import type { WireDenial } from '../../src/shared/denialWire';
import { extendPreset } from '../../src/shared/presets';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';

let server: TestServer;
let client: SandboxClient;
let folder: string;
let stateDir: string;
let agent: AgentWorkspace;

const RULES = extendPreset('agent-safe', {
  additions: [{ pattern: 'docs/**', permission: 'view', priority: 20 }],
});

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  folder = makeTempDir('af-grant-folder-');
  stateDir = makeTempDir('af-grant-state-');
  fs.writeFileSync(join(folder, '.env'), 'SECRET=granted\n');
  fs.writeFileSync(join(folder, '.env.local'), 'OTHER=1\n');
  fs.mkdirSync(join(folder, 'docs'));
  fs.writeFileSync(join(folder, 'docs', 'x.md'), '# x\n');
  fs.writeFileSync(join(folder, 'docs', 'y.md'), '# y\n');
  const backend = new AgentFenseBackend((fn) => fn(client));
  const baselines = new BaselineStore(stateDir, () => 'test');
  const sync = new WorkspaceSync(backend, baselines, {
    client: 'test',
    ignore: () => [],
    log: SILENT_LOG,
    confirmOverwrite: async () => true,
  });
  const provisioner = new SandboxProvisioner(backend, sync, {
    client: 'test',
    rulesOf: () => RULES,
    networkOf: () => NETWORK_OFF,
    runtimeOf: () => BWRAP,
  });
  agent = new AgentWorkspace({
    backend,
    provisioner,
    baselines,
    root: { name: 'grant-folder', path: folder },
    activePreset: () => 'agent-safe-docs',
    ignore: () => [],
  });
});

after(async () => {
  client.close();
  await server.stop();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
});

async function deniedBy(command: string): Promise<WireDenial> {
  const r = await agent.run({ command, audit: true });
  assert.notEqual(r.exitCode, 0, 'refused first');
  assert.equal(r.denials?.denials.length, 1, JSON.stringify(r.denials));
  return r.denials!.denials[0]!;
}

describe('a grant from a denial', () => {
  it('Allow once reads the hidden, never-uploaded .env; the next run is refused again', async () => {
    const denial = await deniedBy('cat .env');
    assert.deepEqual([denial.kind, denial.accessed, denial.wants, denial.process], ['hidden', '.env', 'read', 'cat']);
    const grant = grantFor(denial);
    assert.deepEqual(grant.rule, { pattern: '/.env', permission: 'read', type: 'file', priority: 101 });
    assert.equal(grant.secret?.pattern, '**/.env*', 'a secret: the user confirms by the rule');

    const once = await agent.run({ command: 'cat .env; cat .env.local', grant });
    assert.match(once.stdout, /SECRET=granted/);
    assert.match(once.stderr, /\.env\.local: No such file/, 'only that path: .env.local stays hidden');
    const { sandboxes } = await client.listSandboxes();
    assert.ok(!sandboxes.some((s) => s.id === once.sandboxId), 'the granted sandbox is gone after its run');

    const again = await agent.run({ command: 'cat .env' });
    assert.notEqual(again.exitCode, 0, 'once means once');
    assert.notEqual(again.sandboxId, once.sandboxId);
  });

  it('a view file read, then written: each grant gives the level the call needed, on that file only', async () => {
    const read = await deniedBy('cat docs/x.md');
    assert.deepEqual([read.kind, read.wants, read.rule?.pattern], ['unreadable', 'read', 'docs/**']);
    const readOnce = await agent.run({ command: 'cat docs/x.md; cat docs/y.md', grant: grantFor(read) });
    assert.match(readOnce.stdout, /# x/);
    assert.match(readOnce.stderr, /y\.md: Permission denied/);

    const write = await deniedBy('echo more >> docs/x.md');
    assert.deepEqual([write.kind, write.wants], ['read-only', 'write']);
    const writeOnce = await agent.run({ command: 'echo more >> docs/x.md', grant: grantFor(write) });
    assert.equal(writeOnce.exitCode, 0, writeOnce.stderr);
    assert.deepEqual(writeOnce.changedByRun, ['docs/x.md'], 'the granted write waits for review like any change');
  });
});
