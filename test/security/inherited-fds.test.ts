/**
 * W4 (issue 18): only stdin, stdout and stderr cross into a sandbox. A server started with
 * other descriptors open (here: a private file at fds 5, 100 and 251, like a launching
 * shell's leftovers) must not hand them to sandboxed commands, one-shot or session, whatever
 * way the command looks for them: /proc/self/fd, /dev/fd, or reading fd numbers 3..300.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

const SECRET = `AFCANARY-fd-${randomBytes(12).toString('hex')}`;
let privateDir: string;
let secretFd: number;
let server: TestServer;
let sandboxId: string;

/** Lists every open descriptor ≥ 3 of the probing process and reads what it can from each. */
const PROBE = `python3 - <<'EOF'
import os
found = []
for fd in range(3, 301):
    try:
        os.fstat(fd)
    except OSError:
        continue
    try:
        data = os.pread(fd, 4096, 0)
    except OSError:
        try:
            data = os.read(fd, 4096)
        except OSError as e:
            data = repr(e).encode()
    found.append('%d:%s' % (fd, data[:200]))
for d in ('/proc/self/fd', '/dev/fd'):
    for name in os.listdir(d):
        try:
            with open(os.path.join(d, name), 'rb') as f:
                found.append('%s/%s:%s' % (d, name, f.read(200)))
        except OSError:
            pass
print('FDS', found)
EOF
ls -l /proc/self/fd /dev/fd/ 2>&1; for n in $(seq 3 300); do cat /dev/fd/$n 2>/dev/null; done; true`;

before(async () => {
  privateDir = fs.mkdtempSync(join(tmpdir(), 'af-fd-'));
  fs.chmodSync(privateDir, 0o700);
  const file = join(privateDir, 'private.txt');
  fs.writeFileSync(file, SECRET + '\n', { mode: 0o600 });
  secretFd = fs.openSync(file, 'r');
  server = await startServer({ inheritFds: { 5: secretFd, 100: secretFd, 251: secretFd } });
  const codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});

after(async () => {
  await server?.stop();
  fs.closeSync(secretFd);
  fs.rmSync(privateDir, { recursive: true, force: true });
});

describe('descriptors the server inherited stay out of sandboxes', () => {
  it('the server closed the ones a child would inherit', () => {
    for (const fd of [100, 251]) {
      let target = '';
      try {
        target = fs.readlinkSync(`/proc/${server.proc.pid}/fd/${fd}`);
      } catch {
        // closed
      }
      assert.ok(!target.startsWith(privateDir), `the server still holds fd ${fd} on ${target}`);
    }
  });

  it('a one-shot command finds no descriptor beyond stdio and cannot read the file', async () => {
    const r = await server.exec(sandboxId, PROBE);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), `the sandbox read the inherited file:\n${r.stdout}`);
    assert.match(r.stdout, /^FDS \[(.*)\]$/m);
    // The probe's own listing descriptors are the only ones python sees beyond stdio.
    const fds = /^FDS \[(.*)\]$/m.exec(r.stdout)![1];
    assert.ok(!/'(5|100|251):/.test(fds), `inherited descriptors reached the sandbox: ${fds}`);
  });

  it('a session shell and its commands find none either', async () => {
    const s = await call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell: '', env: {} });
    const r = await call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
      sessionId: s.id,
      command: PROBE,
      timeout: undefined,
    });
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), `the session read the inherited file:\n${r.stdout}`);
    assert.ok(!/'(5|100|251):/.test(/^FDS \[(.*)\]$/m.exec(r.stdout)?.[1] ?? 'no probe output'), r.stdout);
    // The shell itself (pid 1's child in the sandbox) holds nothing beyond its pipes.
    const shellFds = await call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
      sessionId: s.id,
      command: 'ls /proc/$$/fd',
      timeout: undefined,
    });
    assert.ok(!/^(5|100|251)$/m.test(shellFds.stdout), `the session shell holds an inherited fd: ${shellFds.stdout}`);
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });
});
