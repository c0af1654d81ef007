// Backoff with full jitter, and retrying only what is retryable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { backoffDelayMs, withRetry, isRetryableStatus, DEFAULT_RETRY_POLICY } from '../../src/client/retry';

const policy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1000 };
const grpcError = (code: status): ServiceError =>
  Object.assign(new Error(status[code]), { code, details: status[code], metadata: new Metadata() });

describe('backoffDelayMs', () => {
  test('the ceiling doubles per retry and is capped', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy, () => 0.999999));
    assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999]);
  });

  test('full jitter: the delay is uniform between 0 and the ceiling', () => {
    assert.equal(
      backoffDelayMs(3, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(3, policy, () => 0.5),
      200,
    );
    const samples = Array.from({ length: 2000 }, () => backoffDelayMs(4, policy));
    assert.ok(samples.every((d) => d >= 0 && d < 800));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(mean > 330 && mean < 470, `mean ${mean} is near 400`);
    assert.ok(new Set(samples).size > 100, 'delays are spread, not in lockstep');
  });

  test('the default policy retries a few times within seconds', () => {
    assert.ok(DEFAULT_RETRY_POLICY.maxAttempts > 1 && DEFAULT_RETRY_POLICY.maxBackoffMs <= 5000);
  });
});

describe('withRetry', () => {
  const noSleep = { sleep: async () => {} };

  test('retries UNAVAILABLE and returns the first success, sleeping the jittered delays', async () => {
    const slept: number[] = [];
    let n = 0;
    const result = await withRetry(
      async () => {
        if (++n < 3) throw grpcError(status.UNAVAILABLE);
        return 'ok';
      },
      { policy, random: () => 0.5, sleep: async (ms) => void slept.push(ms) },
    );
    assert.equal(result, 'ok');
    assert.equal(n, 3);
    assert.deepEqual(slept, [50, 100]);
  });

  test('gives up after maxAttempts with the last error', async () => {
    let n = 0;
    await assert.rejects(
      withRetry(
        async () => {
          n++;
          throw grpcError(status.UNAVAILABLE);
        },
        { policy: { ...policy, maxAttempts: 3 }, ...noSleep },
      ),
      { code: status.UNAVAILABLE },
    );
    assert.equal(n, 3);
  });

  test('any other status, or a non-gRPC error, is not retried', async () => {
    for (const err of [
      grpcError(status.NOT_FOUND),
      grpcError(status.DEADLINE_EXCEEDED),
      grpcError(status.INTERNAL),
      new Error('plain'),
    ]) {
      let n = 0;
      await assert.rejects(
        withRetry(
          async () => {
            n++;
            throw err;
          },
          { policy, ...noSleep },
        ),
        (e) => e === err,
      );
      assert.equal(n, 1);
    }
    assert.equal(isRetryableStatus(grpcError(status.UNAVAILABLE)), true);
  });

  test('an abort during the backoff stops retrying with the reason', async () => {
    const ac = new AbortController();
    let n = 0;
    const reason = new Error('cancelled');
    const p = withRetry(
      async () => {
        n++;
        setTimeout(() => ac.abort(reason), 5);
        throw grpcError(status.UNAVAILABLE);
      },
      {
        policy: { maxAttempts: 5, initialBackoffMs: 10_000, maxBackoffMs: 10_000 },
        random: () => 0.99,
        signal: ac.signal,
      },
    );
    await assert.rejects(p, (e) => e === reason);
    assert.equal(n, 1);
  });
});
