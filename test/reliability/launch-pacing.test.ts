/**
 * Launch pacing (src/server/sandbox/runtime/launchGate.ts): with --max-launches 1, commands start one
 * at a time, a command's timeout does not count its wait for a slot, and a long command does
 * not hold the next ones back.
 *
 *   node scripts/build.mjs && node --import tsx --test test/reliability/launch-pacing.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { codeName, startServer, type ServerHandle } from '../security/lib/harness';

describe('launch pacing (--max-launches 1)', () => {
  let srv: ServerHandle;
  let cb: string;
  before(async () => {
    srv = await startServer({ extraArgs: ['--max-launches', '1'] });
    cb = (await srv.createCodebase('pacing')).id;
  });
  after(() => srv?.stop());

  it('commands queued for a slot do not spend their timeout waiting', async () => {
    const sb = (await srv.createSandbox(cb)).id;
    // Eight 1 s commands through one slot take about 8 s; each may run 5 s. Were the wait
    // counted, the later ones would time out.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        srv.exec(sb, `sleep 1; echo ${i}`, { timeoutSec: 5, deadlineMs: 120_000 }).then(
          (r) => `${r.exitCode} ${r.stdout.trim()}`,
          (e: ServiceError) => `${codeName(e.code)} ${e.details}`,
        ),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 8 }, (_, i) => `0 ${i}`),
    );
    await srv.destroySandbox(sb);
  });

  it('a long command gives its slot back: others still run beside it', async () => {
    const long = (await srv.createSandbox(cb)).id;
    const other = (await srv.createSandbox(cb)).id;
    const running = srv.exec(long, 'sleep 600', { timeoutSec: 700 }).catch((e: ServiceError) => e);
    const r = await srv.exec(other, 'echo beside', { timeoutSec: 30 });
    assert.equal(r.stdout, 'beside\n');
    await srv.destroySandbox(long); // kills the sleep
    const ended = await running;
    assert.ok(!('stdout' in ended) || ended.exitCode !== 0, 'the long command was killed, not finished');
    await srv.destroySandbox(other);
  });
});
