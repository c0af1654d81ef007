import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LaunchGate, type Release } from '../../src/server/sandbox/runtime/launchGate';
import { settle } from '../helpers/waitFor';

/** Resolves to whether `p` settled within one turn of the event loop. */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('LaunchGate', () => {
  it('grants up to its slots at once, then queues', async () => {
    const gate = new LaunchGate(2, 60_000);
    const a = await gate.acquire();
    const b = await gate.acquire();
    const c = gate.acquire();
    assert.equal(await settledNow(c), false);
    assert.equal(gate.queued, 1);
    a();
    assert.equal(await settledNow(c), true);
    b();
    (await c)();
  });

  it('serves waiters first come, first served', async () => {
    const gate = new LaunchGate(1, 60_000);
    const first = await gate.acquire();
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => gate.acquire().then((release) => (order.push(n), release)));
    first();
    for (const w of waits) (await w)();
    assert.deepEqual(order, [1, 2, 3]);
  });

  it('a release is idempotent: releasing twice frees one slot, not two', async () => {
    const gate = new LaunchGate(1, 60_000);
    const a = await gate.acquire();
    const b = gate.acquire();
    const c = gate.acquire();
    a();
    a();
    assert.equal(await settledNow(b), true);
    assert.equal(await settledNow(c), false);
    (await b)();
    (await c)();
  });

  it('an abort while waiting rejects with its reason and takes no slot', async () => {
    const gate = new LaunchGate(1, 60_000);
    const a = await gate.acquire();
    const ac = new AbortController();
    const cancelled = gate.acquire(ac.signal);
    const next = gate.acquire();
    ac.abort(new Error('client went away'));
    await assert.rejects(cancelled, /client went away/);
    assert.equal(gate.queued, 1);
    a();
    assert.equal(await settledNow(next), true, 'the slot went to the next waiter');
    (await next)();
    await assert.rejects(gate.acquire(AbortSignal.abort(new Error('already'))), /already/);
  });

  it('a slot held past holdMs is given back (a long command does not hold others back)', async () => {
    const gate = new LaunchGate(1, 50);
    await gate.acquire(); // never released by hand
    let next: Release | undefined;
    void gate.acquire().then((r) => (next = r));
    assert.ok(
      await settle(
        () => next,
        (r) => r !== undefined,
        5_000,
      ),
      'the waiter got the slot',
    );
    next!();
  });

  it('refuses a slot count that is not a positive integer', () => {
    assert.throws(() => new LaunchGate(0, 1000), RangeError);
    assert.throws(() => new LaunchGate(1.5, 1000), RangeError);
  });
});
