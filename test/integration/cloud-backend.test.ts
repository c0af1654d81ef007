/**
 * The cloud backend (src/cloud/) through the core, against a real E2B-protocol server: the
 * embedded server's E2B front, reached by the official `e2b` SDK as provider `custom`. Upload
 * under the rules (a `none` file never leaves this machine, `view` is a placeholder, `read`
 * unwritable), runs with streamed output, Ctrl+C and timeouts, the merge back (write paths
 * downloaded, the rest refused and undone), pause/resume/kill, and typed errors.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudError } from '../../src/cloud/cloudErrors';
import type { CloudSettings } from '../../src/cloud/cloudProviders';
import { E2bBackend } from '../../src/cloud/e2bBackend';
import { refreshChanges } from '../../src/core/review/changeSet';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { SandboxProvisioner } from '../../src/core/run/sandboxProvisioner';
import { WorkspaceSync } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG } from '../../src/core/workspaceRoot';
import { NETWORK_OFF, type PresetNetwork } from '../../src/shared/networkPolicy';
import { normalizeRules, type PermissionRule } from '../../src/shared/permissions';
import { BWRAP, type SandboxRuntime } from '../../src/shared/sandboxRuntime';
import { startE2bServer } from '../helpers/e2bServer';
import { makeTempDir, type TestServer } from '../helpers/server';

const SECRET = 'sk-live-0123456789abcdef';
const RULES: Record<string, PermissionRule[]> = {
  guarded: [
    { pattern: '**/*', permission: 'read', priority: 0 },
    { pattern: 'docs/**', permission: 'view', priority: 10 },
    { pattern: 'output/**', permission: 'write', priority: 10 },
    { pattern: '**/.env*', permission: 'none', priority: 100 },
  ],
  open: [{ pattern: '**/*', permission: 'write', priority: 0 }],
};

let server: TestServer;
let sdk: { apiKey: string; apiUrl: string };
let folder: string;
let stateDir: string;
let settings: CloudSettings;
let apiKey: string | undefined;
const made: E2bBackend[] = [];
let network: PresetNetwork = NETWORK_OFF;
let runtime: SandboxRuntime = BWRAP;

function setUp() {
  const backend = new E2bBackend({
    settings: () => settings,
    apiKey: () => Promise.resolve(apiKey),
    storageDir: join(stateDir, `cloud-${made.length}`),
  });
  made.push(backend);
  const baselines = new BaselineStore(join(stateDir, `baselines-${made.length}`), () => 'cloud');
  const sync = new WorkspaceSync(backend, baselines, {
    client: 'test',
    ignore: () => [],
    log: SILENT_LOG,
    confirmOverwrite: async () => true,
  });
  const provisioner = new SandboxProvisioner(backend, sync, {
    client: 'test',
    rulesOf: (p) => normalizeRules(RULES[p]),
    networkOf: () => network,
    runtimeOf: () => runtime,
  });
  return { backend, baselines, sync, provisioner, root: { name: 'cloud-folder', path: folder } };
}

before(async () => {
  const started = await startE2bServer();
  server = started.server;
  sdk = started.sdk;
  apiKey = sdk.apiKey;
  settings = { provider: 'custom', apiUrl: sdk.apiUrl, template: 'base', timeoutMs: 600_000 };
  folder = makeTempDir('af-cloud-folder-');
  stateDir = makeTempDir('af-cloud-state-');
  fs.mkdirSync(join(folder, 'src'));
  fs.mkdirSync(join(folder, 'docs'));
  fs.writeFileSync(join(folder, '.env'), `API_KEY=${SECRET}\n`);
  fs.writeFileSync(join(folder, 'src', 'app.js'), 'console.log("app")\n');
  fs.writeFileSync(join(folder, 'src', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  fs.writeFileSync(join(folder, 'docs', 'plan.md'), 'the plan\n');
});

after(async () => {
  for (const b of made)
    for (const id of await b.heldHere().catch(() => [])) await b.destroySandbox(id).catch(() => undefined);
  await server?.stop();
});

describe('the cloud backend over an E2B-protocol server', () => {
  it('uploads under the rules: none stays here, view is a placeholder, read is unwritable', async () => {
    const { backend, provisioner, root } = setUp();
    const target = await provisioner.ensureSandbox(root, 'guarded');
    assert.equal(target.sandbox.status, 'running');
    assert.equal(target.sandbox.known, true);
    const r = await backend.exec(
      target.sandbox.id,
      [
        'test -e .env && echo "env present" || echo "env absent"',
        `grep -rs ${SECRET} /workspace /tmp . || echo "secret nowhere"`,
        'cat src/app.js',
        './src/run.sh',
        'stat -c "%a %s %n" docs/plan.md src/app.js src/run.sh',
        'cat docs/plan.md 2>&1 || true',
        'echo changed > src/app.js 2>&1 || echo "app.js unwritable"',
      ].join('; '),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /env absent/);
    assert.match(r.stdout, /secret nowhere/);
    assert.match(r.stdout, /console\.log\("app"\)/);
    assert.match(r.stdout, /^ran$/m, 'an executable keeps its x bit');
    assert.match(r.stdout, /^0 0 docs\/plan\.md$/m, 'a view file is an empty, unreadable placeholder');
    assert.match(r.stdout, /^444 \d+ src\/app\.js$/m);
    assert.match(r.stdout, /^555 \d+ src\/run\.sh$/m);
    assert.match(r.stdout, /Permission denied/);
    assert.match(r.stdout, /app\.js unwritable/);
  });

  it('streams output, merges write paths, refuses and undoes the rest', async () => {
    const { backend, baselines, provisioner, root } = setUp();
    const target = await provisioner.ensureSandbox(root, 'guarded');
    const id = target.sandbox.id;
    const seen: { text: string; at: number }[] = [];
    const started = Date.now();
    const r = await backend.exec(
      id,
      'echo first; sleep 1; mkdir -p output && echo result > output/r.txt && chmod u+w src/app.js && echo hacked > src/app.js && echo stray > stray.txt; echo last',
      { onOutput: (stream, text) => void (stream === 'stdout' && seen.push({ text, at: Date.now() - started })) },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const first = seen.find((s) => s.text.includes('first'));
    assert.ok(first && first.at < r.durationMs - 500, `"first" arrived before the end: ${JSON.stringify(seen)}`);
    assert.equal(r.pathsMerged, 1);
    assert.match(r.stderr, /^not merged: src\/app\.js \(read under the sandbox's rules\)$/m);
    assert.match(r.stderr, /^not merged: stray\.txt \(read under the sandbox's rules\)$/m);
    assert.equal((await backend.readFile(target.codebaseId, 'output/r.txt')).toString(), 'result\n');
    assert.equal((await backend.readFile(target.codebaseId, 'src/app.js')).toString(), 'console.log("app")\n');
    const changes = await refreshChanges(backend, baselines.of(root), { ignore: [], showIgnored: false });
    assert.deepEqual(
      changes.map((c) => [c.path, c.kind]),
      [['output/r.txt', 'added']],
      'the review shows the merged file, nothing refused',
    );
    const next = await backend.exec(
      id,
      'cat src/app.js; test -e stray.txt && echo stray || echo "no stray"; cat output/r.txt',
    );
    assert.equal(
      next.stdout,
      'console.log("app")\nno stray\nresult\n',
      'refused changes are undone before the next run',
    );
    assert.equal(next.pathsMerged, 0);
    assert.equal(next.stderr, '');

    const removed = await backend.exec(id, 'rm output/r.txt');
    assert.equal(removed.pathsMerged, 1);
    assert.equal(
      (await backend.listFiles(target.codebaseId))?.some((f) => f.path === 'output/r.txt'),
      false,
    );
  });

  it('a new upload reaches the next run; Ctrl+C and timeouts end the command', async () => {
    const { backend, provisioner, root } = setUp();
    const target = await provisioner.ensureSandbox(root, 'open');
    fs.writeFileSync(join(folder, 'src', 'app.js'), 'console.log("v2")\n');
    const again = await provisioner.ensureSandbox(root, 'open');
    assert.equal(again.sandbox.id, target.sandbox.id);
    assert.equal((await backend.exec(again.sandbox.id, 'cat src/app.js')).stdout, 'console.log("v2")\n');

    const abort = new AbortController();
    const interrupted = backend.exec(target.sandbox.id, 'echo going; sleep 60', {
      signal: abort.signal,
      onOutput: (_s, text) => text.includes('going') && abort.abort(new Error('Ctrl+C')),
    });
    const t0 = Date.now();
    await assert.rejects(interrupted, /Ctrl\+C/);
    assert.ok(Date.now() - t0 < 15_000);
    const timed = await backend.exec(target.sandbox.id, 'sleep 60', { timeoutMs: 1500 });
    assert.equal(timed.timedOut, true);
    assert.equal(timed.exitCode, 124);
    const after = await backend.exec(target.sandbox.id, 'pgrep -x sleep || echo "no sleep left"');
    assert.match(after.stdout, /no sleep left/);
  });

  it('pauses, resumes with the files kept, and kills; the list says which are held here', async () => {
    const { backend, provisioner, root } = setUp();
    const target = await provisioner.ensureSandbox(root, 'open');
    const id = target.sandbox.id;
    await backend.exec(id, 'echo kept > kept.txt');
    const listed = (await backend.listAll()).find((s) => s.id === id);
    assert.ok(listed, 'listed by its metadata tag');
    assert.equal(listed.inUse, true);
    assert.match(listed.provider, /custom E2B server \(http:\/\/127\.0\.0\.1:\d+\)/);
    assert.ok(listed.startedAt instanceof Date);
    await backend.stopSandbox(id);
    assert.equal((await backend.listSandboxes(target.codebaseId)).find((s) => s.id === id)?.status, 'stopped');
    const resumed = await provisioner.ensureSandbox(root, 'open');
    assert.equal(resumed.sandbox.id, id, 'the paused sandbox is resumed, not replaced');
    assert.equal((await backend.exec(id, 'cat kept.txt')).stdout, 'kept\n');
    await backend.destroySandbox(id);
    assert.equal(await backend.startSandbox(id), undefined);
    assert.equal(
      (await backend.listAll()).some((s) => s.id === id),
      false,
    );
  });

  it('says what went wrong, typed, with what to do', async () => {
    const { backend, provisioner, root } = setUp();
    const kindOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        assert.ok(e instanceof CloudError, String(e));
        return { kind: e.kind, message: e.message };
      }
      assert.fail('expected a CloudError');
    };
    apiKey = undefined;
    assert.equal((await kindOf(provisioner.ensureSandbox(root, 'open'))).kind, 'no-key');
    apiKey = 'e2b_wrong';
    const auth = await kindOf(provisioner.ensureSandbox(root, 'open'));
    assert.equal(auth.kind, 'auth');
    assert.match(auth.message, /Set Cloud API Key/);
    apiKey = sdk.apiKey;
    settings = { ...settings, template: 'no-such-template' };
    assert.equal((await kindOf(provisioner.ensureSandbox(root, 'open'))).kind, 'template');
    settings = { ...settings, template: 'base' };
    runtime = { kind: 'docker', image: 'python:3.12' };
    const docker = await kindOf(provisioner.ensureSandbox(root, 'open'));
    assert.equal(docker.kind, 'unsupported');
    assert.match(docker.message, /python:3\.12/);
    runtime = BWRAP;
    network = { mode: 'allow', allow: ['registry.npmjs.org:443'], deny: [] };
    assert.match((await kindOf(provisioner.ensureSandbox(root, 'open'))).message, /not ports/);
    network = NETWORK_OFF;
    const closed = { ...settings, apiUrl: 'http://127.0.0.1:9' };
    const saved = settings;
    settings = closed;
    assert.equal((await kindOf(backend.listAll())).kind, 'network');
    settings = saved;
  });
});
