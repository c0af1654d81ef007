/**
 * Limits a request meets before anything is spawned: command length (one argv string for
 * Exec/ExecStream, none for a session command), NUL bytes, timeouts beyond what a Node
 * timer can hold, negative resource limits.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/sandbox-request-limits.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

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

const invalid = (message: string | RegExp) => (e: ServiceError) =>
  e.code === status.INVALID_ARGUMENT && (typeof message === 'string' ? e.details === message : message.test(e.details));

/** `: aaa…; echo ok` padded to exactly `bytes` bytes. */
const commandOf = (bytes: number) => `: ${'a'.repeat(bytes - 11)}; echo ok`;

describe('request limits', () => {
  it('Exec takes a command of 131071 bytes and refuses one byte more, by name', async () => {
    assert.equal((await server.exec(sandboxId, commandOf(131071))).stdout, 'ok\n');
    await assert.rejects(
      server.exec(sandboxId, commandOf(131072)),
      invalid(/^command is 131072 bytes; the limit is 131071 bytes/),
    );
    const streamed = server.execStream(sandboxId, commandOf(131072));
    await assert.rejects(streamed, invalid(/^command is 131072 bytes/));
  });

  it('a session command runs up to the argument limit and is refused, by name, above it', async () => {
    // The supervisor hands each command to a fresh shell as its -c argument (a pipe could be
    // written by another sandbox process): the same 128 KiB bound as Exec, with the prelude.
    const s = await call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell: '', env: {} });
    const r = await call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
      sessionId: s.id,
      command: commandOf(100_000),
    });
    assert.equal(r.stdout, 'ok\n');
    await assert.rejects(
      call(server.sandboxes, server.sandboxes.sessionExec, { sessionId: s.id, command: commandOf(300_000) }),
      invalid(/session command .* 131071 bytes .*Put a long script in a file/),
    );
    await assert.rejects(
      call(server.sandboxes, server.sandboxes.sessionExec, { sessionId: s.id, command: 'echo a\0b' }),
      invalid('command contains a NUL byte'),
    );
  });

  it('NUL bytes and oversized env strings are refused naming the field', async () => {
    await assert.rejects(server.exec(sandboxId, 'echo a\0b'), invalid('command contains a NUL byte'));
    await assert.rejects(
      server.exec(sandboxId, 'true', { env: { K: 'a\0b' } }),
      invalid(/environment variable K contains a NUL byte/),
    );
    await assert.rejects(
      server.exec(sandboxId, 'true', { env: { K: 'v'.repeat(131072) } }),
      invalid(/environment variable K is 131074 bytes/),
    );
  });

  it('a timeout longer than a Node timer can hold is refused, the longest one runs', async () => {
    await assert.rejects(
      server.exec(sandboxId, 'echo ok', { timeout: { seconds: 2 ** 31, nanos: 0 } }),
      invalid(/^timeout must be at most 2147483\.647s/),
    );
    const r = await server.exec(sandboxId, 'echo ok', { timeout: { seconds: 2147483, nanos: 647_000_000 } });
    assert.equal(r.stdout, 'ok\n');
  });

  it('negative resource limits are refused naming the field', async () => {
    for (const field of ['memoryBytes', 'cpuQuota', 'cpuShares', 'pidsLimit'] as const) {
      const resources = { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 0, [field]: -1 };
      const name = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      await assert.rejects(
        server.startSandbox(codebaseId, wireRules(getPreset('read-only')), { resources }),
        invalid(new RegExp(`resources\\.${name}`)),
      );
    }
  });
});
