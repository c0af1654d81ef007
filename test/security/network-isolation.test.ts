/**
 * W6 (issue 18): a sandbox with network off has a network namespace of its own, so two such
 * sandboxes cannot talk to each other, and neither can the host and a sandbox, over abstract
 * Unix sockets or loopback (TCP and UDP). The host-to-sandbox direction of escape.test.ts's
 * "network is off" is extended here with sandbox-to-sandbox and host-to-sandbox attempts.
 * Sandboxes with network (allow, on) keep their own namespace too: network-egress.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

const ABSTRACT = `af-w6-${randomBytes(6).toString('hex')}`;
const PORT = 20000 + Math.floor(Math.random() * 20000);

let server: TestServer;
let listener: string;
let prober: string;
let session: Session;

/** Listens on an abstract socket, 127.0.0.1:PORT (TCP) and UDP; logs each contact to /tmp/hits. */
const LISTEN = `python3 - >/dev/null 2>&1 <<'EOF' &
import socket, threading
def serve(s, name):
    while True:
        if s.type == socket.SOCK_DGRAM:
            s.recvfrom(64)
        else:
            s.accept()[0].close()
        open('/tmp/hits', 'a').write(name + '\\n')
u = socket.socket(socket.AF_UNIX); u.bind('\\0${ABSTRACT}'); u.listen()
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(('127.0.0.1', ${PORT})); t.listen()
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.bind(('127.0.0.1', ${PORT}))
for s, n in ((u, 'unix'), (t, 'tcp'), (d, 'udp')):
    threading.Thread(target=serve, args=(s, n)).start()
open('/tmp/ready', 'w').write('ready')
EOF
for i in $(seq 1 100); do [ -e /tmp/ready ] && break; sleep 0.05; done; cat /tmp/ready`;

/** Tries all three; prints what connected. */
const PROBE = `python3 - <<'EOF'
import socket
for name, fam, typ, addr in (('unix', socket.AF_UNIX, socket.SOCK_STREAM, '\\0${ABSTRACT}'), ('tcp', socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', ${PORT}))):
    try:
        s = socket.socket(fam, typ); s.settimeout(2); s.connect(addr); print('connected', name)
    except OSError as e:
        print('refused', name, e.errno)
try:
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.sendto(b'x', ('127.0.0.1', ${PORT})); print('sent udp')
except OSError as e:
    print('refused udp', e.errno)
EOF`;

const exec = (sandboxId: string, command: string) => server.exec(sandboxId, command);
const sessionExec = (command: string) =>
  call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
    sessionId: session.id,
    command,
    timeout: { seconds: 20, nanos: 0 },
  });

before(async () => {
  server = await startServer();
  const codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  const rules = wireRules(getPreset('full-access'));
  listener = await server.startSandbox(codebaseId, rules);
  prober = await server.startSandbox(codebaseId, rules);
  // A session keeps the listener alive between commands.
  session = await call<Session>(server.sandboxes, server.sandboxes.createSession, {
    sandboxId: listener,
    shell: '',
    env: {},
  });
  assert.equal((await sessionExec(LISTEN)).stdout, 'ready');
});
after(async () => {
  await server.stop();
});

describe('network-off sandboxes are apart from each other and from the host', () => {
  it('the listener answers inside its own sandbox (the probe can see a connection)', async () => {
    const r = await sessionExec(PROBE);
    assert.equal(r.stdout, 'connected unix\nconnected tcp\nsent udp\n');
    const seen = await sessionExec(
      'for i in $(seq 1 100); do [ "$(sort -u /tmp/hits | wc -l)" -ge 3 ] && break; sleep 0.05; done; sort -u /tmp/hits | tr "\\n" " "',
    );
    assert.equal(seen.stdout, 'tcp udp unix ');
  });

  it('another network-off sandbox reaches none of it', async () => {
    await sessionExec('rm -f /tmp/hits');
    const r = await exec(prober, PROBE);
    assert.match(r.stdout, /refused unix 111\n/);
    assert.match(r.stdout, /refused tcp 111\n/);
    // UDP is fire-and-forget: the listener's side must not have received it.
    const hits = await sessionExec('cat /tmp/hits 2>/dev/null; true');
    assert.equal(hits.stdout, '', `the listener was reached from another sandbox: ${hits.stdout}`);
  });

  it('the host reaches none of it either', async () => {
    const tryConnect = (path: string | { port: number; host: string }) =>
      new Promise<string>((resolve) => {
        const s = typeof path === 'string' ? connect(path) : connect(path.port, path.host);
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
    assert.notEqual(await tryConnect(`\0${ABSTRACT}`), 'connected');
    const tcp = await tryConnect({ port: PORT, host: '127.0.0.1' });
    // Another process of this machine may own the port: only the listener's log says who answered.
    void tcp;
    const hits = await sessionExec('cat /tmp/hits 2>/dev/null; true');
    assert.equal(hits.stdout, '', `the sandbox's listener was reached from the host: ${hits.stdout}`);
  });
});
