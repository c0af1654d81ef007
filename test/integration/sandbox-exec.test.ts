/** Exec and ExecStream end to end: real server process, real bwrap, read-only preset. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { Sandbox } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

let server: TestServer;
let codebaseId: string;
let sandboxId: string;

before(async () => {
  server = await startServer();
  codebaseId = await server.createCodebase({ 'README.md': '# hello\n', 'src/app.py': 'print("hi")\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('read-only')));
});
after(async () => {
  await server.stop();
});

describe('Exec', () => {
  it('runs a command in /workspace as uid 1000 and returns its output and exit code', async () => {
    const r = await server.exec(sandboxId, 'pwd; id -u; id -g; cat README.md; echo err >&2; exit 3');
    assert.equal(r.stdout, '/workspace\n1000\n1000\n# hello\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.exitCode, 3);
    assert.ok(r.duration && r.duration.seconds >= 0);
  });

  it('has no capabilities and no network', async () => {
    const r = await server.exec(
      sandboxId,
      "grep CapEff /proc/self/status; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
    );
    // A private network namespace has only its loopback device.
    assert.equal(r.stdout, 'CapEff:\t0000000000000000\nlo\n');
  });

  it('passes stdin, env and workdir; the environment is clean', async () => {
    const r = await server.exec(sandboxId, 'cat; echo "$FOO"; pwd; env | sort | cut -d= -f1 | tr "\\n" " "', {
      stdin: 'from stdin\n',
      env: { FOO: 'bar baz' },
      workdir: 'src',
    });
    assert.equal(r.stdout, 'from stdin\nbar baz\n/workspace/src\nFOO HOME LANG PATH PWD TERM ');
  });

  it('accepts an absolute workdir under /workspace and refuses one outside', async () => {
    assert.equal((await server.exec(sandboxId, 'pwd', { workdir: '/workspace/src' })).stdout, '/workspace/src\n');
    await assert.rejects(
      server.exec(sandboxId, 'pwd', { workdir: '../etc' }),
      (e: { code: number }) => e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      server.exec(sandboxId, 'pwd', { workdir: '/etc' }),
      (e: { code: number }) => e.code === status.INVALID_ARGUMENT,
    );
  });

  it('rejects bad env names, an empty command, unknown and stopped sandboxes', async () => {
    await assert.rejects(
      server.exec(sandboxId, 'true', { env: { 'A=B': 'x' } }),
      (e: { code: number }) => e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(server.exec(sandboxId, '  '), (e: { code: number }) => e.code === status.INVALID_ARGUMENT);
    await assert.rejects(
      server.exec('sb_0000000000000000', 'true'),
      (e: { code: number }) => e.code === status.NOT_FOUND,
    );
    const pending = await call<Sandbox>(server.sandboxes, server.sandboxes.createSandbox, {
      codebaseId,
      permissions: wireRules(getPreset('read-only')),
      expiresIn: undefined,
      labels: {},
      runtime: 0,
      image: '',
      resources: undefined,
    });
    await assert.rejects(
      server.exec(pending.id, 'true'),
      (e: { code: number; details: string }) =>
        e.code === status.FAILED_PRECONDITION && e.details === `sandbox ${pending.id} is not running`,
    );
  });

  it('streams output with ExecStream and reports the exit code in the trailer', async () => {
    const r = await server.execStream(sandboxId, 'for i in 1 2 3; do echo line$i; done; echo oops >&2; exit 7');
    assert.equal(r.stdout, 'line1\nline2\nline3\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.exitCode, 7);
  });
});
