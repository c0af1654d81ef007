/**
 * Network policy (issue 14) with the tools users use, against origins on this machine that
 * stand for the internet (test/helpers/networkOrigins.ts). Every sandbox has its own network
 * namespace; `allow` reaches only its list, `on` anything public; deny wins; the host's
 * loopback, its abstract sockets and other sandboxes are out of reach in every mode; names
 * resolve only in the proxy; a refusal says why; a dev server inside a sandbox works.
 *
 *   node scripts/build.mjs && node --import tsx --test test/security/network-egress.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { getPreset } from '../../src/shared/presets';
import { startServer, wireRules, type TestServer } from '../helpers/server';
import { startOrigins, type Origins } from '../helpers/networkOrigins';
import { SandboxClient } from '../../src/client';
import { describeRefusedConnections } from '../../src/core/agent/agentReport';

let server: TestServer;
let origins: Origins;
let hostAbstract: net.Server;
const ABSTRACT = `af-egress-${randomBytes(6).toString('hex')}`;
const sandboxes: Record<'allow' | 'on' | 'off', string> = { allow: '', on: '', off: '' };

before(async () => {
  origins = await startOrigins();
  hostAbstract = net.createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => hostAbstract.listen(`\0${ABSTRACT}`, r));
  server = await startServer({ args: ['--network-test-hosts', 'allowed.test=127.0.0.1,denied.test=127.0.0.1'] });
  const codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  const rules = wireRules(getPreset('development'));
  const start = (labels: Record<string, string>) => server.startSandbox(codebaseId, rules, { labels });
  sandboxes.allow = await start({
    'agentfense.network': 'allow',
    'agentfense.network.allow': `allowed.test,localhost:${origins.echo}`,
  });
  sandboxes.on = await start({ 'agentfense.network': 'on', 'agentfense.network.deny': 'denied.test' });
  sandboxes.off = await start({});
});
after(async () => {
  await server?.stop();
  await origins?.close();
  hostAbstract?.close();
});

const run = async (mode: keyof typeof sandboxes, command: string) => {
  const r = await server.exec(sandboxes[mode], command);
  return `${r.stdout}${r.stderr}`;
};

/** Raw TCP through the SOCKS5 side of the proxy (ALL_PROXY), as a client without HTTP would. */
const SOCKS_ECHO = (host: string, port: number) => `python3 - <<'EOF'
import socket, struct
s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
s.sendall(b'\\x05\\x01\\x00'); assert s.recv(2) == b'\\x05\\x00'
h = b'${host}'
s.sendall(b'\\x05\\x01\\x00\\x03' + bytes([len(h)]) + h + struct.pack('>H', ${port}))
r = s.recv(10)
if r[1] != 0: print('socks refused', r[1])
else:
    s.sendall(b'ping'); print('echo', s.recv(4).decode())
EOF`;

describe('allow: only the listed destinations', () => {
  it('curl over HTTP and HTTPS (CONNECT, the origin’s own certificate), Python urllib, npm view, git ls-remote', async () => {
    const out = await run(
      'allow',
      [
        `curl -sS http://allowed.test:${origins.http}/plain`,
        `curl -sS -k https://allowed.test:${origins.https}/tls`,
        `python3 -c "import urllib.request;print(urllib.request.urlopen('http://allowed.test:${origins.http}/py').read().decode())"`,
        `npm view left-pad version --registry http://allowed.test:${origins.http}/ 2>&1`,
        `GIT_SSL_NO_VERIFY=1 git ls-remote https://allowed.test:${origins.https}/repo.git 2>&1`,
      ].join('; '),
    );
    assert.match(out, new RegExp(`hello from allowed.test:${origins.http}/plain`));
    assert.match(out, /secure hello \/tls/);
    assert.match(out, /hello from allowed.test:\d+\/py/);
    assert.match(out, /^1\.3\.0$/m, 'npm view through the proxy');
    assert.match(out, /^[0-9a-f]{40}\trefs\/heads\/main$/m, 'git ls-remote over HTTPS through the proxy');
  });

  it('a name not listed is refused with the reason, and never reaches the origin', async () => {
    const before = origins.seen.length;
    const out = await run(
      'allow',
      `curl -sS -i http://denied.test:${origins.http}/secret; curl -sS -k https://denied.test:${origins.https}/ 2>&1; true`,
    );
    assert.match(out, /HTTP\/1.1 403 Forbidden/);
    assert.match(out, /X-AgentFense-Refused: denied.test:\d+ is not in agentfense.network.allow/);
    assert.match(out, /CONNECT tunnel failed, response 403/);
    assert.ok(!origins.seen.slice(before).includes('/secret'), 'the refused request never reached the origin');
  });

  it('raw TCP over SOCKS5: a listed host service on purpose (localhost:PORT), nothing else', async () => {
    assert.match(await run('allow', SOCKS_ECHO('localhost', origins.echo)), /echo ping/);
    assert.match(await run('allow', SOCKS_ECHO('localhost', origins.http)), /socks refused 2/);
  });
});

describe('refusals reach the client', () => {
  it('Exec and ExecStream carry each refused destination once, with how often and why; an agent reads them', async () => {
    const client = new SandboxClient({ endpoint: server.address });
    try {
      const command = `curl -s http://denied.test:${origins.http}/a >/dev/null; curl -s http://denied.test:${origins.http}/b >/dev/null; curl -s http://allowed.test:${origins.http}/ok`;
      const r = await client.exec(sandboxes.allow, command);
      assert.match(r.stdout, /hello from allowed.test/);
      assert.deepEqual(
        r.refusedConnections?.map((c) => [c.host, c.port, c.count, c.reason]),
        [['denied.test', origins.http, 2, `denied.test:${origins.http} is not in agentfense.network.allow`]],
      );
      const stream = client.execStream(sandboxes.allow, `curl -s -k https://denied.test:${origins.https}/ ; true`);
      for await (const _ of stream);
      assert.equal(stream.refusedConnections?.[0]?.host, 'denied.test');
      const clean = await client.exec(sandboxes.allow, 'true');
      assert.equal(clean.refusedConnections, undefined, 'nothing refused, nothing said');
      assert.match(
        describeRefusedConnections(r.refusedConnections!, 'development'),
        /refused 2 connections \(not a network failure\):\n  denied.test:\d+ — denied.test:\d+ is not in agentfense.network.allow ×2/,
      );
    } finally {
      client.close();
    }
  });
});

describe('on: anything public, never the host', () => {
  it('reaches a public name; deny wins; the host’s loopback is refused by the proxy', async () => {
    const out = await run(
      'on',
      [
        `curl -sS http://allowed.test:${origins.http}/on`,
        `curl -sS -i http://denied.test:${origins.http}/ | grep -i refused`,
        // Through the proxy on purpose (NO_PROXY sends these direct, where nothing listens).
        `curl -sS -i --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:${origins.http}/ | grep -i refused`,
        `curl -sS -i --noproxy '' -x http://127.0.0.1:3128 http://localhost:${origins.http}/ | grep -i refused`,
        `curl -sS -i http://169.254.169.254/latest/meta-data/ | grep -i refused`,
      ].join('; '),
    );
    assert.match(out, /hello from allowed.test:\d+\/on/);
    assert.match(out, /X-AgentFense-Refused: denied by denied.test/);
    assert.equal(out.match(/host-internal address/g)?.length, 3, out);
  });
});

describe('in every mode', () => {
  const DIRECT = (port: number) => `python3 - <<'EOF'
import socket
def attempt(name, f):
    try: f(); print(name, 'reached')
    except OSError as e: print(name, 'failed', e.errno)
attempt('tcp', lambda: socket.create_connection(('127.0.0.1', ${port}), timeout=3))
attempt('host-abstract', lambda: socket.socket(socket.AF_UNIX).connect('\\0${ABSTRACT}'))
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53)))
attempt('dns', lambda: socket.getaddrinfo('allowed.test', 80))
EOF`;

  for (const mode of ['allow', 'on', 'off'] as const) {
    it(`${mode}: no direct TCP, UDP or DNS, no host abstract socket`, async () => {
      const out = await run(mode, DIRECT(origins.http));
      for (const what of ['tcp', 'host-abstract', 'udp', 'dns'])
        assert.match(out, new RegExp(`^${what} failed`, 'm'), out);
    });
  }

  it('off: no proxy at all; a dev server inside a sandbox with network answers its own clients', async () => {
    const off = await run('off', `env | grep -ci proxy; curl -sS http://allowed.test:${origins.http}/ 2>&1; true`);
    assert.match(off, /^0$/m);
    assert.match(off, /Could not resolve (proxy|host)|Couldn't connect/);
    const dev = await run(
      'on',
      `python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 & for i in $(seq 50); do curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8765/ && break; sleep 0.1; done; kill %1`,
    );
    assert.match(dev, /^200$/m);
  });

  it('two sandboxes with network cannot reach each other', async () => {
    const listen = `python3 -c "
import socket,time
s=socket.socket(); s.bind(('127.0.0.1', 8766)); s.listen(); time.sleep(3)" & sleep 0.5; `;
    const [, probe] = await Promise.all([
      run('on', `${listen} wait`),
      (async () => {
        await new Promise((r) => setTimeout(r, 800));
        return run('allow', `curl -sS -i http://127.0.0.1:8766/ 2>&1 | head -3; ${SOCKS_ECHO('127.0.0.1', 8766)}`);
      })(),
    ]);
    assert.match(probe, /403|refused/);
    assert.doesNotMatch(probe, /echo/);
  });

  it('a label the server cannot honour is refused at creation, never run looser', async () => {
    const codebaseId = await server.createCodebase({ 'b.txt': 'b\n' });
    for (const labels of <Record<string, string>[]>[
      { 'agentfense.network': 'partly' },
      { 'agentfense.network': 'allow' },
      { 'agentfense.network': 'on', 'agentfense.network.allow': 'not a host' },
    ])
      await assert.rejects(
        server.startSandbox(codebaseId, wireRules(getPreset('development')), { labels }),
        /INVALID_ARGUMENT|agentfense\.network/,
      );
  });
});
