/**
 * The E2B front under attack from its callers: names that try to break out of the shell that
 * handles them, one sandbox's access token aimed at another, the gRPC side's sandboxes reached
 * through the E2B API, and bad or oversized bodies. Each must fail cleanly and the server serve on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startE2bServer, type E2bTestServer } from '../helpers/e2bServer';
import { Sandbox } from 'e2b';
import { rules, type TestServer } from '../helpers/server';

describe('the E2B front under attack', () => {
  let server: TestServer;
  let url: string;
  let API_KEY: string;
  let sdk: E2bTestServer['sdk'];
  const opts = () => sdk;
  const made: Sandbox[] = [];

  before(async () => {
    ({ server, url, apiKey: API_KEY, sdk } = await startE2bServer());
  });
  after(async () => {
    for (const s of made) await s.kill().catch(() => undefined);
    await server?.stop();
  });

  it('a path or command argument is never run by a shell', async () => {
    const sbx = await Sandbox.create({ ...opts() });
    made.push(sbx);
    // Run by a shell in /workspace/output, each would make /workspace/output/PWNED.
    const names = ["a'b$(touch PWNED)", 'x`touch PWNED`y', 'semi; touch PWNED', 'new\nline', '-rf'];
    for (const name of names) {
      await sbx.files.write(`output/${name}`, 'data\n');
      assert.equal(await sbx.files.read(`output/${name}`), 'data\n');
    }
    const listed = (await sbx.files.list('output')).map((e) => e.name).sort();
    assert.deepEqual(listed, [...names].sort(), 'each name comes back exactly as written');
    const r = await sbx.commands.run(`ls -A /workspace/output | wc -l`);
    assert.equal(r.stdout.trim(), String(names.length + 1), 'the newline name lists as two lines, nothing more');
    const ran = await sbx.commands.run('ls -A /workspace /workspace/output | grep -c "^PWNED$"; true');
    assert.equal(ran.stdout.trim(), '0', 'no name was run as a command');
    await sbx.files.remove('output/-rf');
    assert.equal((await sbx.files.list('output')).length, names.length - 1, '"-rf" removed itself only');
  });

  it("one sandbox's access token does not open another", async () => {
    const a = await Sandbox.create({ ...opts() });
    const b = await Sandbox.create({ ...opts() });
    made.push(a, b);
    await b.files.write('secret.txt', 'only b\n');
    // a's token with b's id: the envd API and the Connect services refuse it.
    const tokenOfA = (a as unknown as { envdAccessToken: string }).envdAccessToken;
    assert.ok(tokenOfA, 'the SDK holds the token the front gave it');
    const file = await fetch(`${url}/files?path=secret.txt`, {
      headers: { 'E2b-Sandbox-Id': b.sandboxId, 'X-Access-Token': tokenOfA },
    });
    assert.equal(file.status, 401);
    const list = await fetch(`${url}/process.Process/List`, {
      method: 'POST',
      headers: { 'E2b-Sandbox-Id': b.sandboxId, 'X-Access-Token': tokenOfA, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(list.status, 401);
  });

  it("the gRPC side's sandboxes are not E2B sandboxes", async () => {
    const codebase = await server.createCodebase({ 'private.txt': 'grpc only\n' });
    const grpcSandbox = await server.startSandbox(codebase, rules(['**/*', 'read']));
    const info = await fetch(`${url}/sandboxes/${grpcSandbox}`, { headers: { 'X-API-Key': API_KEY } });
    assert.equal(info.status, 404);
    const kill = await fetch(`${url}/sandboxes/${grpcSandbox}`, {
      method: 'DELETE',
      headers: { 'X-API-Key': API_KEY },
    });
    assert.equal(kill.status, 404);
    const listed = await Sandbox.list(opts()).nextItems();
    assert.ok(!listed.some((s) => s.sandboxId === grpcSandbox));
    const read = await fetch(`${url}/files?path=private.txt`, {
      headers: { 'E2b-Sandbox-Id': grpcSandbox, 'X-Access-Token': '' },
    });
    assert.equal(read.status, 404);
  });

  it('bad and oversized bodies are clear errors, and the server serves on', async () => {
    const post = (body: string | Buffer, type = 'application/json') =>
      fetch(`${url}/v2/sandboxes`, { method: 'POST', headers: { 'X-API-Key': API_KEY, 'content-type': type }, body });
    const bad = await post('{not json');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not a JSON object/);
    const big = await post(Buffer.alloc(2 * 1024 * 1024, 0x20));
    assert.equal(big.status, 413);
    const wrongTimeout = await post(JSON.stringify({ templateID: 'base', timeout: -5 }));
    assert.equal(wrongTimeout.status, 400);
    assert.match(await wrongTimeout.text(), /timeout must be a whole number of seconds/);
    const unsupported = await post(JSON.stringify({ templateID: 'base', autoPause: true }));
    assert.equal(unsupported.status, 400);
    assert.match(await unsupported.text(), /autoPause is not supported by this server/);
    const sbx = await Sandbox.create({ ...opts() });
    made.push(sbx);
    assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n');
  });
});
