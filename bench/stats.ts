/** Timing and summary statistics shared by every scenario. */

/** Milliseconds from a monotonic clock (never goes backwards, unlike Date.now()). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
    mean: mean(samples),
  };
}

/**
 * `concurrency` callers each call `fn` back to back until `durationMs` has passed.
 * Returns the number of completed calls per second (calls started before the deadline
 * are allowed to finish and counted; the rate divides by the real elapsed time).
 */
export async function closedLoopThroughput(
  concurrency: number,
  durationMs: number,
  fn: () => Promise<unknown>,
): Promise<{ calls: number; elapsedMs: number; perSecond: number; errors: number }> {
  const start = nowMs();
  const deadline = start + durationMs;
  let calls = 0;
  let errors = 0;
  const worker = async () => {
    while (nowMs() < deadline) {
      try {
        await fn();
        calls++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = nowMs() - start;
  return { calls, elapsedMs, perSecond: (calls / elapsedMs) * 1000, errors };
}
