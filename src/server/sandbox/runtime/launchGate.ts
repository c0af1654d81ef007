/**
 * Paces bwrap launches.
 *
 * Setting up a sandbox takes kernel-wide locks: its mount namespace copies every host mount
 * under one semaphore, each mount it makes takes the mount lock, and its network namespace
 * takes rtnl. A thousand launches at once (100 sandboxes x 10 commands) all crawl through
 * those locks together, so each takes about as long as all of them: measured as root, `echo`
 * had a p50 of 53 s and a p99 of 77 s, and commands hit a 60 s timeout they never used.
 *
 * So a launch waits for a slot; a command's timeout starts once it has one. The slot is given
 * back when the command exits, or after `holdMs` if it is still running: by then it is past its
 * set-up, or a long command (a test run, a watcher) that must not hold the next ones back.
 */
export class LaunchGate {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly slots: number,
    private readonly holdMs: number,
  ) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`launch slots must be a positive integer, not ${slots}`);
    this.free = slots;
  }

  /** Launches waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free (at once if one is). Rejects with the
   * signal's reason if it is aborted while waiting; the slot is then not taken.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.release());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.release());
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A release for one taken slot: idempotent, and automatic after holdMs. */
  private release(): Release {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight on
      else this.free++;
    };
    const timer = setTimeout(release, this.holdMs);
    timer.unref();
    return release;
  }
}

export type Release = () => void;
