/**
 * A second client that calls ListCodebases every 50 ms and records how long each call took,
 * like the red team's monitor: if anything blocks the server's event loop, these calls wait
 * (calls are started on schedule, not after the previous answer, so a freeze shows up in
 * every call it delays).
 */
import { credentials } from '@grpc/grpc-js';
import { CodebaseServiceClient, type ListCodebasesResponse } from '../../src/generated/codebase';
import { call } from './server';

export interface WatchdogReport {
  calls: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

export class Watchdog {
  private readonly client: CodebaseServiceClient;
  private readonly latencies: number[] = [];
  private readonly pending = new Set<Promise<void>>();
  private errors = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    address: string,
    private readonly intervalMs = 50,
  ) {
    this.client = new CodebaseServiceClient(address, credentials.createInsecure());
  }

  /** Connects first (the channel's set-up is not the server's latency), then probes. */
  async start(): Promise<this> {
    await call<ListCodebasesResponse>(this.client, this.client.listCodebases, {
      ownerId: '',
      pageSize: 1,
      pageToken: '',
    });
    // One call at once: work shorter than the interval is still watched.
    this.probe();
    this.timer = setInterval(() => this.probe(), this.intervalMs);
    return this;
  }

  /** Stops probing, waits for the calls in flight, and summarises (milliseconds). */
  async stop(): Promise<WatchdogReport> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
    this.client.close();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      calls: sorted.length,
      p50: at(0.5),
      p99: at(0.99),
      max: sorted[sorted.length - 1] ?? 0,
      errors: this.errors,
    };
  }

  private probe(): void {
    const started = performance.now();
    const p = call<ListCodebasesResponse>(this.client, this.client.listCodebases, {
      ownerId: '',
      pageSize: 1,
      pageToken: '',
    })
      .then(
        () => void this.latencies.push(performance.now() - started),
        () => void this.errors++,
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }
}

/** One line for logs and reports: `p50 1.2 ms, p99 4.0 ms, max 9.1 ms over 180 calls`. */
export function describeReport(r: WatchdogReport): string {
  return `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms over ${r.calls} calls (${r.errors} errors)`;
}
