/**
 * The cloud backend against a hostile sandbox: the names a sandbox creates reach this machine
 * through the listing, the merge and the codebase store, so each is data, never a command, a
 * path outside the store or a link to follow; what the rules do not allow is refused whatever it
 * is (a link over a read file, a device-like name); the local store is the user's alone and
 * holds no key. The sandbox is real (the embedded server's E2B front, bubblewrap under it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CloudSettings } from '../../src/cloud/cloudProviders';
import { E2bBackend } from '../../src/cloud/e2bBackend';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { SandboxProvisioner } from '../../src/core/run/sandboxProvisioner';
import { WorkspaceSync } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG } from '../../src/core/workspaceRoot';
import { NETWORK_OFF } from '../../src/shared/networkPolicy';
import { normalizeRules } from '../../src/shared/permissions';
import { BWRAP } from '../../src/shared/sandboxRuntime';
import { startE2bServer } from '../helpers/e2bServer';
import { makeTempDir, type TestServer } from '../helpers/server';

describe('the cloud backend and a hostile sandbox', () => {
  let server: TestServer;
  let backend: E2bBackend;
  let provisioner: SandboxProvisioner<Awaited<ReturnType<E2bBackend['createSandbox']>>>;
  let folder: string;
  let storage: string;
  let apiKey: string;
  const root = () => ({ name: 'hostile', path: folder });

  before(async () => {
    const started = await startE2bServer();
    server = started.server;
    apiKey = started.apiKey;
    const settings: CloudSettings = { provider: 'custom', apiUrl: started.url, template: 'base', timeoutMs: 600_000 };
    folder = makeTempDir('af-cloud-hostile-');
    storage = makeTempDir('af-cloud-store-');
    fs.mkdirSync(join(folder, 'src'));
    fs.writeFileSync(join(folder, 'src', 'app.js'), 'original\n');
    backend = new E2bBackend({ settings: () => settings, apiKey: () => Promise.resolve(apiKey), storageDir: storage });
    const sync = new WorkspaceSync(backend, new BaselineStore(join(storage, 'baselines'), () => 'cloud'), {
      client: 'test',
      ignore: () => [],
      log: SILENT_LOG,
      confirmOverwrite: async () => true,
    });
    provisioner = new SandboxProvisioner(backend, sync, {
      client: 'test',
      rulesOf: () =>
        normalizeRules([
          { pattern: '**/*', permission: 'read', priority: 0 },
          { pattern: 'output/**', permission: 'write', priority: 10 },
        ]),
      networkOf: () => NETWORK_OFF,
      runtimeOf: () => BWRAP,
    });
  });
  after(async () => {
    for (const id of await backend.heldHere().catch(() => [])) await backend.destroySandbox(id).catch(() => undefined);
    await server?.stop();
  });

  it('names a sandbox makes are data: stored as named, never run, never a path out of the store', async () => {
    const { sandbox, codebaseId } = await provisioner.ensureSandbox(root(), 'p');
    const names = ['$(touch PWNED)', '`touch PWNED2`', "it's", '-rf', 'a\nb', ' lead', 'x;rm -rf ~', '..data'];
    const script = names.map(
      (n, i) => `printf 'n${i}' > "output/$(printf '%b' '${n.replace(/\n/g, '\\n').replace(/'/g, "'\\''")}')"`,
    );
    const r = await backend.exec(sandbox.id, ['mkdir -p output', ...script].join(' && '));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.pathsMerged, names.length, r.stderr);
    for (const [i, n] of names.entries())
      assert.equal((await backend.readFile(codebaseId, `output/${n}`)).toString(), `n${i}`, JSON.stringify(n));
    for (const dir of [process.cwd(), folder, storage])
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith('PWNED')),
        [],
        `nothing ran on this machine (${dir})`,
      );
    const stored = fs.readdirSync(join(storage, 'codebases', 'blobs'));
    assert.ok(
      stored.every((f) => /^[0-9a-f]{64}$/.test(f)),
      'the store names blobs by hash, never by a sandbox name',
    );
  });

  it('links, non-UTF-8 names and changes outside write paths are refused, and undone', async () => {
    const { sandbox, codebaseId } = await provisioner.ensureSandbox(root(), 'p');
    const r = await backend.exec(
      sandbox.id,
      [
        'mkdir -p output',
        'ln -s /etc/passwd output/passwd-link',
        'printf x > "output/$(printf \'bad\\377name\')"',
        'chmod u+w src && rm -f src/app.js && ln -s /etc/shadow src/app.js',
      ].join(' && '),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /^not merged: output\/passwd-link \(only regular files are merged from a cloud sandbox\)$/m);
    assert.match(r.stderr, /^not merged: output\/bad\\xffname \(its name is not UTF-8\)$/m);
    assert.match(r.stderr, /^not merged: src\/app\.js \(read under the sandbox's rules\)$/m);
    const paths = (await backend.listFiles(codebaseId))!.map((f) => f.path);
    assert.ok(!paths.includes('output/passwd-link'));
    assert.ok(!paths.some((p) => p.includes('bad')));
    assert.equal((await backend.readFile(codebaseId, 'src/app.js')).toString(), 'original\n');
    const next = await backend.exec(
      sandbox.id,
      'cat src/app.js; test -L src/app.js && echo link || echo file; ls output',
    );
    assert.match(next.stdout, /^original\nfile\n/, 'the read file is put back before the next run');
    assert.doesNotMatch(next.stdout, /passwd-link|bad/);
  });

  it("the local store is the user's alone and holds no API key", () => {
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
        const p = join(dir, d.name);
        return d.isDirectory() ? [p, ...walk(p)] : [p];
      });
    const cloudDirs = [join(storage, 'codebases'), join(storage, 'sandboxes')];
    for (const dir of cloudDirs) {
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700, dir);
      for (const p of walk(dir)) {
        const st = fs.statSync(p);
        assert.equal(st.mode & 0o077, 0, `${p} is not open to others`);
        if (st.isFile()) assert.ok(!fs.readFileSync(p).includes(apiKey), `${p} holds no API key`);
      }
    }
  });
});
