/**
 * ExecStream cancelled the moment it starts, over and over: a kill that lands while bwrap is
 * still cloning its namespace init must not leave that init (and the command) running as an
 * orphan, which would also hold the command's pipes open and so hang the call's end and any
 * stop waiting for it.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/exec-cancel-race.test.ts
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

let server: TestServer;
let codebaseId: string;

before(async () => {
  server = await startServer();
  codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
});
after(async () => {
  await server.stop();
});

/** Processes naming the sandbox (bwraps bind its directory) whose parent is pid 1: orphans. */
function orphansOf(sandboxId: string): string[] {
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (cmd.includes(sandboxId) && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === '1') out.push(`${p}: ${cmd.split('\0').join(' ').slice(0, 80)}`);
    } catch {
      // gone
    }
  }
  return out;
}

it('no orphan survives ExecStreams cancelled as they start, and the sandbox still stops at once', async () => {
  const sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
  for (let round = 0; round < 60; round++) {
    const stream = server.sandboxes.execStream({ sandboxId, command: 'sleep 300', stdin: '', env: {}, workdir: '', timeout: undefined });
    stream.on('error', () => {});
    // Cancel after a varying few milliseconds: somewhere around bwrap's clone.
    await new Promise((r) => setTimeout(r, round % 6));
    stream.cancel();
  }
  let left: string[] = [];
  for (let i = 0; i < 60; i++) {
    left = orphansOf(sandboxId);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(left, [], 'orphaned sandbox processes');
  const started = Date.now();
  await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId });
  assert.ok(Date.now() - started < 5000, `stop took ${Date.now() - started} ms`);
});
