/**
 * The E2B front (src/server/e2b/) against E2B's own JavaScript SDK (npm `e2b`, pinned), as anyone's
 * E2B code would use it with E2B_API_URL / E2B_SANDBOX_URL pointed at the embedded server: create,
 * files.write/read, commands.run with streamed stdout, a background command and its kill, stdin,
 * timeouts, pause and resume, kill; a wrong API key or access token is refused; the template's
 * rules hold (the kernel's, through the same sandboxes as the gRPC services); what the front does
 * not implement says which call it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startE2bServer, type E2bTestServer } from '../helpers/e2bServer';
import { AuthenticationError, CommandExitError, Sandbox, SandboxError } from 'e2b';
import { type TestServer, call } from '../helpers/server';
import { settle } from '../helpers/waitFor';
import type { ListCodebasesResponse } from '../../src/generated/codebase';

describe('the E2B front, driven by the official e2b SDK', () => {
  let server: TestServer;
  let url: string;
  let API_KEY: string;
  let sdk: E2bTestServer['sdk'];
  const opts = () => sdk;
  const sandboxes: Sandbox[] = [];
  type CreateOptions = { metadata?: Record<string, string>; timeoutMs?: number };
  const createFrom = async (template: string, o: CreateOptions = {}) => {
    const s = await Sandbox.create(template, { ...opts(), ...o });
    sandboxes.push(s);
    return s;
  };
  const create = (o: CreateOptions = {}) => createFrom('base', o);

  before(async () => {
    ({ server, url, apiKey: API_KEY, sdk } = await startE2bServer());
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
  after(async () => {
    for (const s of sandboxes) await s.kill().catch(() => undefined);
    await server?.stop();
  });

  it('creates a sandbox, writes and reads files (bytes intact), lists a folder', async () => {
    const sbx = await create({ metadata: { suite: 'e2b-front' } });
    await sbx.files.write('notes/hello.txt', 'hi there\n');
    assert.equal(await sbx.files.read('notes/hello.txt'), 'hi there\n');
    const bytes = randomBytes(100_000);
    await sbx.files.write('/workspace/data.bin', new Blob([bytes]));
    const back = Buffer.from(await sbx.files.read('data.bin', { format: 'bytes' }));
    assert.ok(back.equals(bytes), 'binary content round-trips byte for byte');
    const listed = await sbx.files.list('notes');
    assert.deepEqual(
      listed.map((e) => [e.name, e.type, e.path, e.size]),
      [['hello.txt', 'file', '/workspace/notes/hello.txt', 9]],
    );
    assert.equal((await sbx.files.getInfo('notes')).type, 'dir');
    const many = Array.from({ length: 50 }, (_, i) => ({ path: `many/d${i % 5}/f${i}.txt`, data: `file ${i}\n` }));
    await sbx.files.write(many);
    const counted = await sbx.commands.run('find many -type f | wc -l; cat many/d3/f48.txt');
    assert.equal(counted.stdout, '50\nfile 48\n', 'fifty files in one upload');
    await sbx.files.makeDir('made/deep');
    await sbx.files.rename('notes/hello.txt', 'made/deep/moved.txt');
    assert.equal(await sbx.files.read('made/deep/moved.txt'), 'hi there\n');
    await sbx.files.remove('made');
    assert.equal(await sbx.files.exists('made'), false);
    const info = await sbx.getInfo();
    assert.equal(info.state, 'running');
    assert.deepEqual(info.metadata, { suite: 'e2b-front' });
  });

  it('commands.run streams stdout as it comes, and reports stderr and the exit code', async () => {
    const sbx = await create();
    const chunks: { text: string; at: number }[] = [];
    const started = Date.now();
    const r = await sbx.commands.run('echo first; sleep 1; echo second', {
      onStdout: (text) => void chunks.push({ text, at: Date.now() - started }),
    });
    const ended = Date.now() - started;
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'first\nsecond\n');
    const first = chunks.find((c) => c.text.includes('first'));
    assert.ok(first && first.at < ended - 500, `"first" arrived ${first?.at} ms in, the command ended at ${ended} ms`);
    const failed = await sbx.commands.run('echo oops >&2; exit 3').catch((e: unknown) => e);
    assert.ok(failed instanceof CommandExitError, String(failed));
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.stderr, 'oops\n');
    const env = await sbx.commands.run('echo "$GREETING from $(pwd)"', {
      envs: { GREETING: 'hello' },
      cwd: '/workspace',
    });
    assert.equal(env.stdout, 'hello from /workspace\n');
  });

  it('a background command is listed, can be fed stdin, and is killed', async () => {
    const sbx = await create();
    const echo = await sbx.commands.run('cat', { background: true, stdin: true });
    await sbx.commands.sendStdin(echo.pid, 'through stdin\n');
    await sbx.commands.closeStdin(echo.pid);
    const echoed = await echo.wait();
    assert.equal(echoed.stdout, 'through stdin\n');

    const marker = `${4000 + Math.floor(Math.random() * 900)}.5`;
    const sleeper = await sbx.commands.run(`sleep ${marker}`, { background: true });
    assert.ok((await sbx.commands.list()).some((p) => p.pid === sleeper.pid));
    assert.equal(await sbx.commands.kill(sleeper.pid), true);
    const end = await sleeper.wait().catch((e: unknown) => e);
    assert.ok(end instanceof CommandExitError, `a killed command ends as failed: ${String(end)}`);
    const left = await settle(
      () => sbx.commands.list(),
      (l) => !l.some((p) => p.pid === sleeper.pid),
      5000,
    );
    assert.ok(!left.some((p) => p.pid === sleeper.pid));
    assert.equal(await sbx.commands.kill(999_999), false, 'killing an unknown pid says so');
  });

  it('a timeout ends the sandbox; setTimeout moves it', async () => {
    const sbx = await create({ timeoutMs: 60_000 });
    const before = (await sbx.getInfo()).endAt.getTime();
    await sbx.setTimeout(2_000);
    const after = (await sbx.getInfo()).endAt.getTime();
    assert.ok(after < before, 'the end moved earlier');
    const gone = await settle(
      () =>
        Sandbox.getInfo(sbx.sandboxId, opts()).then(
          () => false,
          () => true,
        ),
      (v) => v,
      15_000,
    );
    assert.ok(gone, 'the sandbox is gone after its timeout');
  });

  it('pause keeps the files, connect resumes; kill removes the sandbox and its codebase', async () => {
    const sbx = await create();
    await sbx.files.write('kept.txt', 'kept\n');
    await sbx.pause();
    assert.equal((await sbx.getInfo()).state, 'paused');
    const listed = await Sandbox.list({ ...opts(), query: { state: ['paused'] } }).nextItems();
    assert.ok(listed.some((s) => s.sandboxId === sbx.sandboxId));
    const resumed = await Sandbox.connect(sbx.sandboxId, opts());
    assert.equal(await resumed.files.read('kept.txt'), 'kept\n');
    const codebasesBefore = await e2bCodebases(server);
    await resumed.kill();
    assert.equal(
      await Sandbox.getInfo(sbx.sandboxId, opts()).then(
        () => 'there',
        () => 'gone',
      ),
      'gone',
    );
    const codebasesAfter = await settle(
      () => e2bCodebases(server),
      (n) => n < codebasesBefore,
      5000,
    );
    assert.equal(codebasesAfter, codebasesBefore - 1, "the sandbox's codebase went with it");
  });

  it("the template's rules hold: agent-safe writes only /workspace/output", async () => {
    const sbx = await createFrom('agent-safe');
    await sbx.files.write('output/ok.txt', 'fine\n');
    assert.equal(await sbx.files.read('output/ok.txt'), 'fine\n');
    const refused = await sbx.files.write('src/nope.txt', 'no\n').catch((e: unknown) => e);
    assert.ok(refused instanceof Error, 'writing outside output/ fails');
    assert.match(String(refused), /Read-only file system|Permission denied|403/);
    const r = await sbx.commands.run('touch /workspace/x 2>&1; true');
    assert.match(r.stdout, /Read-only file system|Permission denied/);
    const unknown = await createFrom('no-such-template').catch((e: unknown) => e);
    assert.ok(unknown instanceof SandboxError);
    assert.match(String(unknown), /template 'no-such-template' not found/);
  });

  it('a wrong API key is 401; a wrong access token is refused by envd', async () => {
    const refused = await Sandbox.create({ ...opts(), apiKey: 'e2b_wrong' }).catch((e: unknown) => e);
    assert.ok(refused instanceof AuthenticationError, String(refused));
    const sbx = await create();
    const res = await fetch(`${url}/files?path=/etc/hostname`, {
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': 'wrong' },
    });
    assert.equal(res.status, 401);
    const rpc = await fetch(`${url}/process.Process/List`, {
      method: 'POST',
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(rpc.status, 401, 'no access token: unauthenticated');
    const noKey = await fetch(`${url}/v2/sandboxes`);
    assert.equal(noKey.status, 401);
  });

  it('what is not implemented answers with the name of the call', async () => {
    const sbx = await create();
    const metrics = await fetch(`${url}/sandboxes/${sbx.sandboxId}/metrics`, { headers: { 'X-API-Key': API_KEY } });
    assert.equal(metrics.status, 501);
    assert.match(await metrics.text(), /GET \/sandboxes\/sb_\w+\/metrics is not implemented by this server/);
    const watch = await sbx.files.watchDir('/workspace', () => undefined).catch((e: unknown) => e);
    assert.match(String(watch), /WatchDir is not implemented by this server/);
    const pty = await sbx.pty.create({ cols: 80, rows: 24, onData: () => undefined }).catch((e: unknown) => e);
    assert.match(String(pty), /pty is not implemented by this server/);
    // Another user is refused, never run as the sandbox user in its place.
    const asRoot = await sbx.commands.run('id -u', { user: 'root' }).catch((e: unknown) => e);
    assert.match(String(asRoot), /user "root" is not available/);
    const readAsRoot = await sbx.files.read('/etc/hostname', { user: 'root' }).catch((e: unknown) => e);
    assert.match(String(readAsRoot), /user "root" is not available/);
    assert.equal((await sbx.commands.run('echo ok', { user: 'user' })).stdout, 'ok\n');
  });
});

async function e2bCodebases(server: TestServer): Promise<number> {
  const r = await call<ListCodebasesResponse>(server.codebases, server.codebases.listCodebases, {
    ownerId: 'e2b',
    pageSize: 1000,
    pageToken: '',
  });
  return r.codebases.length;
}
