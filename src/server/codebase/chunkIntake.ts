/**
 * Reads a client stream's chunks one at a time into a handler, for both upload RPCs. The
 * handler returns a promise only when a chunk needs I/O; reading is held until it settles,
 * so chunks are handled in order and a slow disk pushes back on the client. Callers may add
 * holds of their own (UploadBatch: too many files unanswered); reading resumes when none is left.
 */
import type { Readable } from 'node:stream';

export class ChunkIntake<Chunk> {
  private holds = 0;
  private stopped = false;
  private readonly onChunk = (chunk: Chunk) => this.take(chunk);

  constructor(
    private readonly call: Readable,
    private readonly handle: (chunk: Chunk) => Promise<void> | void,
    private readonly fail: (err: unknown) => void,
  ) {
    call.on('data', this.onChunk);
  }

  /** Reads no further chunk; chunks already delivered are dropped. */
  stop(): void {
    this.stopped = true;
    this.call.removeListener('data', this.onChunk);
  }

  hold(): void {
    if (this.holds++ === 0) this.call.pause();
  }

  release(): void {
    if (--this.holds === 0 && !this.stopped) this.call.resume();
  }

  private take(chunk: Chunk): void {
    if (this.stopped) return;
    let pending: Promise<void> | void;
    try {
      pending = this.handle(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (pending) {
      this.hold();
      pending.then(
        () => this.release(),
        (err) => this.fail(err),
      );
    }
  }
}
