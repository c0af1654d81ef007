/**
 * Events from a command to one listener of a server stream (an async generator pulls them).
 * It counts the bytes waiting: a command pauses while some listener is more than `highWater`
 * behind (the sink's backpressure), and resumes once it has caught up. A listener that went
 * away is closed, and its queue no longer holds anything back.
 */
export class EventQueue<T> {
  private readonly items: { item: T; bytes: number }[] = [];
  private waiting: (() => void) | undefined;
  private drained: (() => void)[] = [];
  private queuedBytes = 0;
  private ended = false;
  closed = false;

  constructor(private readonly highWater = 1024 * 1024) {}

  /** False when the listener is behind by more than the high-water mark. */
  push(item: T, bytes = 0): boolean {
    if (this.closed) return true;
    this.items.push({ item, bytes });
    this.queuedBytes += bytes;
    this.wake();
    return this.queuedBytes <= this.highWater;
  }

  /** Calls `resume` once the listener has caught up (at once when it already has). */
  onceDrained(resume: () => void): void {
    if (this.closed || this.queuedBytes <= this.highWater) resume();
    else this.drained.push(resume);
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.queuedBytes = 0;
    this.releaseDrained();
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        const next = this.items.shift();
        if (next) {
          this.queuedBytes -= next.bytes;
          if (this.queuedBytes <= this.highWater) this.releaseDrained();
          yield next.item;
          continue;
        }
        if (this.ended || this.closed) return;
        await new Promise<void>((resolve) => (this.waiting = resolve));
      }
    } finally {
      this.close();
    }
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private releaseDrained(): void {
    const d = this.drained;
    this.drained = [];
    for (const resume of d) resume();
  }
}
