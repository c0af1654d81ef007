// The core (src/core) over the AgentFense backend against the real server: a folder synced,
// a sandbox provisioned for a preset, a command's changes found by the review, a second
// refresh that downloads nothing, and an upload that asks before replacing a pending change.
import { BWRAP } from '../../src/shared/sandboxRuntime';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { NETWORK_OFF } from '../../src/shared/networkPolicy';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentFenseBackend, SandboxClient } from '../../src/client';
import { CancelledError } from '../../src/core/cancelled';
import { refreshChanges } from '../../src/core/review/changeSet';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { SandboxProvisioner } from '../../src/core/run/sandboxProvisioner';
import { WorkspaceSync } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG } from '../../src/core/workspaceRoot';
import { getPreset } from '../../src/shared/presets';
import { buildPresetCatalog } from '../../src/core/presets/presetCatalog';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';

let server: TestServer;
let client: SandboxClient;
let folder: string;
let stateDir: string;

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  folder = makeTempDir('af-core-folder-');
  stateDir = makeTempDir('af-core-state-');
  fs.writeFileSync(join(folder, 'grow.txt'), 'one\n');
  fs.writeFileSync(join(folder, 'same.txt'), 'abc\n');
  fs.writeFileSync(join(folder, 'keep.txt'), 'keep\n');
});

after(async () => {
  client.close();
  await server.stop();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** The real backend, with the downloads the review makes counted. */
class CountingBackend extends AgentFenseBackend {
  hashed: string[] = [];
  override hashFile(codebaseId: string, path: string, options?: { signal?: AbortSignal }): Promise<string> {
    this.hashed.push(path);
    return super.hashFile(codebaseId, path, options);
  }
}

describe('core over the AgentFense backend', () => {
  it('syncs, provisions, finds what a command changed, and refreshes incrementally', async () => {
    const backend = new CountingBackend((fn) => fn(client));
    const baselines = new BaselineStore(stateDir, () => 'test');
    const asked: string[][] = [];
    const sync = new WorkspaceSync(backend, baselines, {
      client: 'test',
      ignore: () => [],
      log: SILENT_LOG,
      confirmOverwrite: async (_root, pending) => (asked.push([...pending]), false),
    });
    const provisioner = new SandboxProvisioner(backend, sync, {
      client: 'test',
      rulesOf: getPreset,
      networkOf: () => NETWORK_OFF,
      runtimeOf: () => BWRAP,
    });
    const root = { name: 'core-folder', path: folder };

    const target = await provisioner.ensureSandbox(root, 'development');
    assert.equal(target.sandbox.status, 'running');
    const again = await provisioner.ensureSandbox(root, 'development');
    assert.equal(again.sandbox.id, target.sandbox.id, 'the same folder and preset reuse their sandbox');

    const run = await backend.exec(
      target.sandbox.id,
      'echo two >> grow.txt && printf "xyz\\n" > same.txt && echo new > added.txt',
    );
    assert.equal(run.exitCode, 0, run.stderr);
    const baseline = baselines.of(root);
    const changes = await refreshChanges(backend, baseline, { ignore: [], showIgnored: false });
    assert.deepEqual(
      changes.map((c) => [c.path, c.kind]),
      [
        ['added.txt', 'added'],
        ['grow.txt', 'modified'],
        ['same.txt', 'modified'],
      ],
    );
    // Only the same-size file needed its bytes to decide.
    assert.deepEqual(backend.hashed, ['same.txt']);

    backend.hashed = [];
    await refreshChanges(backend, baseline, { ignore: [], showIgnored: false });
    assert.deepEqual(backend.hashed, [], 'an unchanged codebase is listed, not downloaded again');
    assert.equal(baseline.changes.length, 3);

    // The user edits a file the sandbox changed and nobody reviewed: the upload asks, and "no" keeps the codebase.
    fs.writeFileSync(join(folder, 'same.txt'), 'local edit\n');
    await assert.rejects(sync.sync(root), CancelledError);
    assert.deepEqual(asked, [['same.txt']]);
    const stored = await client.readFile(target.codebaseId, 'same.txt');
    assert.equal(stored.toString(), 'xyz\n');

    // Switching to read-only stops the development sandbox, unless a session is open in it.
    const session = await client.createSession(target.sandbox.id, {});
    assert.equal(await provisioner.stopOtherPresets(target.codebaseId, 'read-only'), 0, 'an open session keeps it');
    await client.destroySession(session.id);
    assert.equal(await provisioner.stopOtherPresets(target.codebaseId, 'read-only'), 1);
    assert.equal((await client.getSandbox(target.sandbox.id)).status, 'stopped');
    assert.equal(await provisioner.stopOtherPresets(target.codebaseId, 'development'), 0, 'its own preset is kept');
  });

  it("a preset's network makes its sandbox's labels; a run's own network gets a sandbox of its own", async () => {
    const backend = new AgentFenseBackend((fn) => fn(client));
    const baselines = new BaselineStore(makeTempDir('af-core-net-state-'), () => 'test');
    const sync = new WorkspaceSync(backend, baselines, {
      client: 'test-net',
      ignore: () => [],
      log: SILENT_LOG,
      confirmOverwrite: async () => true,
    });
    const catalog = buildPresetCatalog({}, {});
    const provisioner = new SandboxProvisioner(backend, sync, {
      client: 'test-net',
      rulesOf: (p) => catalog.rulesOf(p),
      networkOf: (p) => catalog.networkOf(p),
      runtimeOf: () => BWRAP,
    });
    const root = { name: 'core-net', path: folder };
    const dev = await provisioner.ensureSandbox(root, 'development');
    assert.equal(dev.sandbox.labels['agentfense.network'], 'allow');
    assert.equal(dev.sandbox.labels['agentfense.network.allow'], '@npm,@pypi,@github,@crates,@go,@maven');
    const off = await provisioner.ensureSandbox(root, 'development', { network: NETWORK_OFF });
    assert.notEqual(off.sandbox.id, dev.sandbox.id);
    assert.equal(off.sandbox.labels['agentfense.network'], undefined);
    assert.equal(
      (await provisioner.ensureSandbox(root, 'development')).sandbox.id,
      dev.sandbox.id,
      'the preset’s own again',
    );
    const r = await backend.exec(dev.sandbox.id, 'echo "$HTTPS_PROXY"');
    assert.equal(r.stdout, 'http://127.0.0.1:3128\n');
    assert.equal((await backend.exec(off.sandbox.id, 'echo "[$HTTPS_PROXY]"')).stdout, '[]\n');
  });
});
