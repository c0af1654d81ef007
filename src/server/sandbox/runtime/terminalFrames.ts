/**
 * The frames the terminal helper (ptyHelper.c) and the server exchange over its stdin and
 * stdout: type (1 byte), payload length (4 bytes, big-endian), payload. The helper runs
 * inside the sandbox, so what it sends is read as untrusted: a frame that is too long or of
 * an unknown type ends the terminal.
 */

/** The helper's limit, per frame, in both directions. */
export const MAX_FRAME_PAYLOAD = 65536;

/** What the helper reports. */
export type HelperFrame = { kind: 'output'; data: Buffer } | { kind: 'prompt' } | { kind: 'exited'; exitCode: number };

/** The terminal's input, in frames of at most MAX_FRAME_PAYLOAD bytes. */
export function inputFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME_PAYLOAD) {
    frames.push(frame('D', data.subarray(at, at + MAX_FRAME_PAYLOAD)));
  }
  return frames;
}

/** A resize; rows and cols are 1..65535. */
export function resizeFrame(rows: number, cols: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(rows, 0);
  payload.writeUInt16BE(cols, 2);
  return frame('R', payload);
}

function frame(type: 'D' | 'R', payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

export class FrameError extends Error {}

/** Reassembles the helper's frames from its stdout, whatever the read boundaries. */
export class HelperFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** The complete frames `data` finishes; throws FrameError on a frame no helper sends. */
  push(data: Buffer): HelperFrame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    const frames: HelperFrame[] = [];
    while (this.buffered.length >= 5) {
      const length = this.buffered.readUInt32BE(1);
      if (length > MAX_FRAME_PAYLOAD) throw new FrameError(`a terminal frame of ${length} bytes`);
      if (this.buffered.length < 5 + length) break;
      const type = String.fromCharCode(this.buffered[0]!);
      const payload = this.buffered.subarray(5, 5 + length);
      this.buffered = this.buffered.subarray(5 + length);
      frames.push(decode(type, payload));
    }
    return frames;
  }
}

function decode(type: string, payload: Buffer): HelperFrame {
  if (type === 'D') return { kind: 'output', data: Buffer.from(payload) };
  if (type === 'P' && payload.length === 0) return { kind: 'prompt' };
  // An exit code is 0..255 (a signal's is 128 + its number).
  if (type === 'X' && payload.length === 4 && payload.readUInt32BE(0) <= 255)
    return { kind: 'exited', exitCode: payload.readUInt32BE(0) };
  throw new FrameError(`an unknown terminal frame (type ${JSON.stringify(type)}, ${payload.length} bytes)`);
}
