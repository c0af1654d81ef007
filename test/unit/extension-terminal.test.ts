import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitMarkerParser, newNonce, wrapCommand, wrapSessionCommand } from '../../src/extension/run/exitMarker';
import { acquireLock, isLockStale } from '../../src/client/embedded/serverLock';
import { describeLogLine, socketPathFor } from '../../src/client/embedded/serverLifecycle';
import { formatExitLine, formatLimits, shortSandboxId, toTerminalNewlines } from '../../src/extension/run/terminalText';

/** Runs a wrapped script as the sandbox would (/bin/sh -c), stderr merged into stdout. */
function runMerged(script: string): string {
  return execFileSync('/bin/sh', ['-c', `{\n${script}\n} 2>&1`], { encoding: 'utf8' });
}

test('the wrapped command reports its exit code, even for `exit N`', () => {
  for (const [cmd, code] of [
    ['true', 0],
    ['false', 1],
    ['exit 7', 7],
    ['echo hi # comment', 0],
  ] as const) {
    const nonce = 'AFXtest';
    const out = runMerged(wrapCommand(cmd, nonce));
    const p = new ExitMarkerParser(nonce);
    const visible = p.push(out) + p.end();
    assert.equal(p.marker?.exitCode, code, cmd);
    assert.doesNotMatch(visible, /AFXtest/);
  }
});

test('session wrapping keeps cd and reports the directory', () => {
  const nonce = 'AFXtest';
  const out = runMerged(wrapSessionCommand('cd /tmp', nonce));
  const p = new ExitMarkerParser(nonce);
  p.push(out);
  assert.deepEqual(p.marker, { exitCode: 0, cwd: '/tmp' });
});

test('the marker is found when split across chunks, and other text passes through', () => {
  const nonce = newNonce();
  const full = `warning: x\n\x1e${nonce}:3\x1e`;
  for (let cut = 0; cut <= full.length; cut++) {
    const p = new ExitMarkerParser(nonce);
    const shown = p.push(full.slice(0, cut)) + p.push(full.slice(cut)) + p.end();
    assert.equal(shown, 'warning: x\n', `cut at ${cut}`);
    assert.equal(p.marker?.exitCode, 3);
  }
  const p = new ExitMarkerParser(nonce);
  assert.equal(p.push('a\x1eb') + p.end(), 'a\x1eb');
  assert.equal(p.marker, undefined);
});

test('terminal text helpers', () => {
  assert.equal(toTerminalNewlines('a\nb\r\nc'), 'a\r\nb\r\nc');
  assert.equal(formatExitLine(0, 1234), '\x1b[2m[exit 0 · 1.23 s]\x1b[0m');
  assert.match(formatExitLine(2, 50), /^\x1b\[31m\[exit 2 · 50 ms\]/);
  assert.equal(shortSandboxId('sb_1a2b3c4d'), 'sb_1a2b');
});

test('resource limits read as a person would say them', () => {
  assert.equal(
    formatLimits({ memoryBytes: 8 * 2 ** 30, pidsLimit: 4096, cpuQuota: 150_000, cpuShares: 0 }),
    'memory 8.00 GB · 4096 processes · 1.5 CPUs',
  );
  assert.equal(
    formatLimits({ memoryBytes: 0, pidsLimit: 64, cpuQuota: 100_000, cpuShares: 0 }),
    '64 processes · 1 CPU',
  );
  assert.equal(formatLimits(undefined), 'no limits');
  assert.equal(formatLimits({ memoryBytes: 0, pidsLimit: 0, cpuQuota: 0, cpuShares: 0 }), 'no limits');
});

test('start lock: exclusive, and a lock left by a dead process is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'af-lock-'));
  const lock = join(dir, 'server.lock');
  const first = await acquireLock(lock);
  assert.equal(first.acquired, true);
  const second = await acquireLock(lock, { timeoutMs: 200, pollMs: 20 });
  assert.equal(second.acquired, false);
  if (first.acquired) await first.release();
  const third = await acquireLock(lock, { timeoutMs: 200 });
  assert.equal(third.acquired, true);
  if (third.acquired) await third.release();
  writeFileSync(lock, '999999999\n'); // no such pid
  assert.equal(await isLockStale(lock, 60_000), true);
  const taken = await acquireLock(lock, { timeoutMs: 200 });
  assert.equal(taken.acquired, true);
});

test('socket path stays under the Unix limit; server log lines are readable', () => {
  assert.equal(socketPathFor('/short'), '/short/server.sock');
  const long = socketPathFor('/' + 'x'.repeat(150));
  assert.ok(Buffer.byteLength(long) <= 100, long);
  assert.deepEqual(describeLogLine('{"level":"error","msg":"boom","code":3}'), {
    level: 'error',
    message: 'boom code=3',
  });
  assert.deepEqual(describeLogLine('plain'), { level: 'info', message: 'plain' });
});
