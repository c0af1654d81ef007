/**
 * The server's view of whether this host can run sandboxes. Checked once at start (in the
 * background: the server serves meanwhile), kept while it says ready, and checked again on
 * demand while it says not ready, so a fix applied while the server runs is noticed at the
 * next CreateSandbox/StartSandbox without a restart.
 */
import { assessHost, notReadyMessage, type Readiness } from '../../shared/hostReadiness';
import type { Logger } from '../logger';
import { failedPrecondition } from '../rpc/rpcError';
import type { SandboxIdentity } from '../sandbox/sandboxIdentity';
import { gatherHostFacts } from './hostFacts';

export class HostCheck {
  private latest: Promise<Readiness> | undefined;
  private latestStartedAt = 0;
  private settled: Readiness | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly identity: SandboxIdentity,
    private readonly log: Logger,
  ) {}

  /** The current verdict: the cached one when ready, else a fresh check (one at a time). */
  readiness(): Promise<Readiness> {
    if (this.latest && (this.settled === undefined || this.settled.ready)) return this.latest;
    const run = gatherHostFacts(this.identity, this.abort.signal).then(assessHost);
    this.latest = run;
    this.latestStartedAt = performance.now();
    this.settled = undefined;
    run.then(
      (r) => {
        if (this.latest !== run) return;
        this.settled = r;
        if (r.ready) {
          this.log.info('host can run sandboxes', {});
          return;
        }
        // What each failed check saw (bwrap's own message among them), then the whole answer.
        const failed = Object.fromEntries(r.checks.filter((c) => c.status === 'fail').map((c) => [c.id, c.detail]));
        this.log.warn('host cannot run sandboxes', { failed, answer: notReadyMessage(r) });
      },
      (err) => {
        // Not cached: the next call checks again.
        if (this.latest === run) this.latest = undefined;
        this.log.error('host check failed', { error: String(err) });
      },
    );
    return run;
  }

  /** FAILED_PRECONDITION with every cause and fix, unless the host can run sandboxes. */
  async require(): Promise<void> {
    const askedAt = performance.now();
    let r = await this.readiness();
    // A refusal rests on a check begun after the call arrived: a host fixed meanwhile, or a
    // trial that failed for a passing reason (a load spike), does not refuse this call.
    if (!r.ready && this.latestStartedAt < askedAt) r = await this.readiness();
    if (!r.ready) throw failedPrecondition(notReadyMessage(r));
  }

  /** Server shutdown: a trial still running is killed, and its temp dir removed before exit. */
  async dispose(): Promise<void> {
    this.abort.abort();
    await this.latest?.catch(() => undefined);
  }
}
