/**
 * Process control: timeouts and cancellation kill the whole tree (background, setsid and
 * nohup children included), output is capped, sessions keep shell state and survive a
 * command's timeout, destroy kills everything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { SessionStatus } from '../../src/generated/common';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { serverProcessesWith } from '../helpers/hostProcesses';
import { settle } from '../helpers/waitFor';

let server: TestServer;
let codebaseId: string;
let sandboxId: string;

before(async () => {
  server = await startServer();
  codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  await server.stop();
});

/** This file's server's processes running exactly `cmdline` (see serverProcessesWith). */
const processesWith = (cmdline: string) => serverProcessesWith(server.proc.pid!, cmdline);

const isCode = (code: status) => (e: ServiceError) => e.code === code;
const seconds = (s: number) => ({ seconds: Math.floor(s), nanos: Math.round((s % 1) * 1e9) });

describe('timeouts and cancellation', () => {
  it('a timeout answers DEADLINE_EXCEEDED and leaves no process of the tree behind', async () => {
    const started = Date.now();
    await assert.rejects(
      server.exec(
        sandboxId,
        'sleep 101 & setsid sleep 102 & nohup sleep 103 >/dev/null 2>&1 & (sleep 104 &) ; sleep 100',
        { timeout: seconds(0.5) },
      ),
      (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED && e.details === 'command timed out after 0.5s',
    );
    assert.ok(Date.now() - started < 5000);
    for (const n of [100, 101, 102, 103, 104])
      assert.deepEqual(
        await settle(
          () => processesWith(`sleep ${n}`),
          (p) => p.length === 0,
        ),
        [],
        `sleep ${n} survived`,
      );
  });

  it('cancelling an ExecStream kills the tree', async () => {
    const stream = server.sandboxes.execStream({
      sandboxId,
      command: 'sleep 201 & echo started; sleep 200',
      stdin: '',
      env: {},
      workdir: '',
      timeout: undefined,
    });
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.on('error', () => {});
    assert.ok(
      (
        await settle(
          () => processesWith('sleep 200'),
          (p) => p.length >= 1,
        )
      ).length >= 1,
      'the command is running',
    );
    stream.cancel();
    assert.deepEqual(
      await settle(
        () => processesWith('sleep 200'),
        (p) => p.length === 0,
      ),
      [],
    );
    assert.deepEqual(processesWith('sleep 201'), []);
  });

  it('caps collected output at 1 MiB per stream and says how much was dropped', async () => {
    // 1 MiB per stream keeps an ExecResult under gRPC's default 4 MiB receive limit.
    const r = await server.exec(sandboxId, 'head -c 9437184 /dev/zero | tr "\\0" x; echo small >&2');
    const cap = 1024 * 1024;
    assert.equal(r.stdout.length, cap + `\n[agentfense: output truncated, ${9437184 - cap} bytes dropped]`.length);
    assert.ok(r.stdout.endsWith(`\n[agentfense: output truncated, ${9437184 - cap} bytes dropped]`));
    assert.equal(r.stderr, 'small\n');
  });

  it('binary output on both streams still fits a 4 MiB gRPC message (invalid UTF-8 grows when replaced)', async () => {
    const r = await server.exec(
      sandboxId,
      'head -c 3000000 /dev/zero | tr "\\0" "\\377"; head -c 3000000 /dev/zero | tr "\\0" "\\377" >&2',
    );
    for (const s of [r.stdout, r.stderr]) {
      assert.ok(Buffer.byteLength(s) <= 1024 * 1024 + 100, `${Buffer.byteLength(s)} bytes`);
      assert.match(s, /\n\[agentfense: output truncated, \d+ bytes dropped\]$/);
    }
    const kept = Buffer.byteLength(r.stdout.replace(/\n\[agentfense.*$/, '')) / 3;
    assert.ok(r.stdout.endsWith(`${3000000 - kept} bytes dropped]`), 'the dropped count is in output bytes');
  });

  it('ExecStream delivers large output completely (backpressure, no cap)', async () => {
    const r = await server.execStream(sandboxId, 'head -c 12000000 /dev/zero | tr "\\0" y');
    assert.equal(r.stdout.length, 12_000_000);
    assert.equal(r.exitCode, 0);
  });

  it('decodes invalid UTF-8 with replacement characters', async () => {
    const r = await server.exec(sandboxId, "printf 'ok\\377\\n'");
    assert.equal(r.stdout, 'ok\uFFFD\n');
  });
});

describe('sessions', () => {
  const createSession = (shell = '', env: Record<string, string> = {}) =>
    call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell, env });
  const sessionExec = (sessionId: string, command: string, timeout?: { seconds: number; nanos: number }) =>
    call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, { sessionId, command, timeout });

  it('keeps the working directory and exported variables; returns exit codes and both streams', async () => {
    const s = await createSession('', { GREETING: 'hello' });
    assert.equal(s.shell, '/bin/bash');
    assert.equal(s.status, SessionStatus.SESSION_STATUS_ACTIVE);
    await sessionExec(s.id, 'mkdir -p sub && cd sub && export X=42');
    const r = await sessionExec(s.id, 'pwd; echo "$X $GREETING"; echo oops >&2; false');
    assert.equal(r.stdout, '/workspace/sub\n42 hello\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.exitCode, 1);
    const got = await call<Session>(server.sandboxes, server.sandboxes.getSession, { sessionId: s.id });
    assert.equal(got.status, SessionStatus.SESSION_STATUS_ACTIVE);
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('merges a session command’s writes into the codebase', async () => {
    const s = await createSession();
    await sessionExec(s.id, 'echo from-session > session.txt');
    assert.equal(await server.download(codebaseId, 'session.txt'), 'from-session\n');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('a timeout kills the command but keeps the shell and its state', async () => {
    const s = await createSession();
    await sessionExec(s.id, 'cd /tmp; export KEEP=yes');
    await assert.rejects(sessionExec(s.id, 'sleep 300 & sleep 301', seconds(0.5)), isCode(status.DEADLINE_EXCEEDED));
    assert.deepEqual(
      await settle(
        () => processesWith('sleep 300'),
        (p) => p.length === 0,
      ),
      [],
    );
    assert.deepEqual(processesWith('sleep 301'), []);
    const r = await sessionExec(s.id, 'pwd; echo $KEEP');
    assert.equal(r.stdout, '/tmp\nyes\n');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('commands of one session run one after another', async () => {
    const s = await createSession();
    const [a, b] = await Promise.all([sessionExec(s.id, 'sleep 0.3; echo first'), sessionExec(s.id, 'echo second')]);
    assert.equal(a.stdout, 'first\n');
    assert.equal(b.stdout, 'second\n');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('destroy kills the whole session tree; a closed session refuses commands; unknown is NOT_FOUND', async () => {
    const s = await createSession();
    await sessionExec(s.id, '(sleep 400 &); sleep 401 >/dev/null 2>&1 & true');
    assert.equal(processesWith('sleep 400').length, 1);
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
    assert.deepEqual(
      await settle(
        () => processesWith('sleep 400'),
        (p) => p.length === 0,
      ),
      [],
    );
    assert.deepEqual(processesWith('sleep 401'), []);
    await assert.rejects(
      sessionExec(s.id, 'true'),
      (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /is closed/.test(e.details),
    );
    const got = await call<Session>(server.sandboxes, server.sandboxes.getSession, { sessionId: s.id });
    assert.equal(got.status, SessionStatus.SESSION_STATUS_CLOSED);
    await assert.rejects(sessionExec('sess_0000000000000000', 'true'), isCode(status.NOT_FOUND));
  });

  it('`exit N` ends that command with N; the session goes on (each command has its own shell process)', async () => {
    const s = await createSession('/bin/sh');
    await sessionExec(s.id, 'cd /tmp');
    const r = await sessionExec(s.id, 'exit 4');
    assert.equal(r.exitCode, 4);
    const got = await call<Session>(server.sandboxes, server.sandboxes.getSession, { sessionId: s.id });
    assert.equal(got.status, SessionStatus.SESSION_STATUS_ACTIVE);
    assert.equal((await sessionExec(s.id, 'pwd')).stdout, '/tmp\n');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('refuses a shell that does not exist in the sandbox', async () => {
    await assert.rejects(createSession('/nonexistent/shell'), isCode(status.INVALID_ARGUMENT));
    await assert.rejects(createSession('/usr/bin/../../etc/passwd'), isCode(status.INVALID_ARGUMENT));
  });
});
