/**
 * Docker's multiplexed attach stream (no TTY): frames of an 8-byte header — stream type
 * (1 stdout, 2 stderr), three zero bytes, the payload's length (big-endian u32) — then the
 * payload. Chunks may split headers and payloads anywhere; frames of other types (0: stdin
 * echo, 3: the engine's own errors) are delivered as stderr, so nothing is lost silently.
 */
import type { StreamName } from '../runtime/commandRunner';

const HEADER = 8;

export class DockerFrames {
  private pending = Buffer.alloc(0);

  constructor(private readonly deliver: (stream: StreamName, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER + size) break;
      if (size > 0) this.deliver(buf[0] === 1 ? 'stdout' : 'stderr', buf.subarray(HEADER, HEADER + size));
      buf = buf.subarray(HEADER + size);
    }
    this.pending = Buffer.from(buf);
  }
}
