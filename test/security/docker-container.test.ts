/**
 * Attacks that only a Docker sandbox invites, from inside one (on a private engine,
 * helpers/runtimes.ts); the escape suite runs the attacks both runtimes share. Each must fail:
 * the engine's socket and the host stay out of reach, the container cannot be stopped from
 * inside, the runner that reports the exit status can be neither read nor made to lie, and a
 * session's state file cannot be turned into a link that makes the server read a host file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { call, rules, startServer, type TestServer } from '../helpers/server';
import { DOCKER } from '../helpers/runtimes';
import type { ExecResult, Session } from '../../src/generated/sandbox';

describe('Docker sandboxes under attack from inside', DOCKER.skip, () => {
  let server: TestServer;
  let sandbox: string;
  const run = (command: string) => server.exec(sandbox, command) as Promise<ExecResult>;

  before(async () => {
    const setup = await DOCKER.setUp();
    server = await startServer({ args: setup.serverArgs, sandboxDefaults: setup.sandbox });
    const codebase = await server.createCodebase({ 'a.txt': 'a\n' });
    sandbox = await server.startSandbox(codebase, rules(['**/*', 'write']));
  });
  after(async () => {
    await server?.stop();
    await DOCKER.tearDown();
  });

  it("the engine's socket, the server's socket and data dir are not in the container", async () => {
    const socketDir = DOCKER.socket.slice(0, DOCKER.socket.lastIndexOf('/'));
    const r = await run(
      `ls -d /var/run/docker.sock /run/docker.sock ${DOCKER.socket} ${socketDir} ${server.dataDir} 2>&1; ` +
        'find / -xdev \\( -name "docker.sock" -o -name "server.sock" -o -name "containerd.sock" \\) 2>/dev/null; true',
    );
    assert.doesNotMatch(r.stdout, /^\/\S+$/m, `something was found:\n${r.stdout}`);
    assert.match(r.stdout, /No such file or directory/);
  });

  it('signals to the container’s init from inside do nothing: the sandbox keeps working', async () => {
    await run('kill -TERM 1; kill -INT 1; kill -KILL 1; kill -HUP 1; true');
    const r = await run('echo still-here');
    assert.equal(r.stdout, 'still-here\n');
  });

  it('a failing command cannot report success by killing its runner', async () => {
    const r = await run('kill -9 $PPID 2>/dev/null; exit 3');
    assert.notEqual(r.exitCode, 0, 'the runner died or the command exited 3, never 0');
    const printed = await run('printf "exit status 0\\n"; echo "{\\"ExitCode\\":0}"; exit 9');
    assert.equal(printed.exitCode, 9);
  });

  it('the runner can be neither read nor traced: its environment carried the script', async () => {
    const secret = `AFCANARY-${randomBytes(8).toString('hex')}`;
    const r = await run(
      `: ${secret}; for f in /proc/$PPID/environ /proc/$PPID/mem /proc/$PPID/cmdline /proc/$PPID/exe; do ` +
        'cat $f >/dev/null 2>&1 && echo "READ $f"; done; ' +
        'grep -l ' +
        secret.slice(0, 9) +
        ' /proc/*/environ 2>/dev/null; true',
    );
    assert.doesNotMatch(r.stdout, /READ \/proc\/\d+\/(environ|mem|exe)/, r.stdout);
    assert.doesNotMatch(r.stdout, /environ/, r.stdout);
  });

  it("a session's state file turned into a link to a host file does not make the server read it", async () => {
    const canary = `AFCANARY-${randomBytes(8).toString('hex')}`;
    // In the state file's format: a directory, NUL, then NUL-separated variables.
    const hostFile = join(tmpdir(), `af-state-canary-${randomBytes(4).toString('hex')}`);
    writeFileSync(hostFile, `/tmp\0LEAKED=${canary}\0`, { mode: 0o644 });
    try {
      const s = await call<Session>(server.sandboxes, server.sandboxes.createSession, {
        sandboxId: sandbox,
        shell: '',
        env: {},
      });
      const exec = (command: string) =>
        call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
          sessionId: s.id,
          command,
          timeout: undefined,
        });
      await exec(`trap - EXIT; ln -sf ${hostFile} /tmp/.agentfense-state-${s.id}; ls -la /tmp/.agentfense-state-*`);
      const r = await exec('env; pwd');
      assert.doesNotMatch(r.stdout, new RegExp(canary));
      await exec(`trap - EXIT; rm -f /tmp/.agentfense-state-${s.id}; mkfifo /tmp/.agentfense-state-${s.id}`);
      const again = await exec('echo after-fifo');
      assert.equal(again.stdout, 'after-fifo\n', 'a FIFO in its place does not hang the session');
    } finally {
      rmSync(hostFile, { force: true });
    }
  });
});
