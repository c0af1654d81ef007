// The frames between the server and the terminal helper: what the helper sends is untrusted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameError,
  HelperFrameReader,
  inputFrames,
  MAX_FRAME_PAYLOAD,
  resizeFrame,
} from '../../src/server/sandbox/runtime/terminalFrames';

const frame = (type: string, payload: Buffer) => {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};
const code = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('HelperFrameReader', () => {
  it('reassembles frames across any read boundary', () => {
    const stream = Buffer.concat([frame('D', Buffer.from('hello')), frame('P', Buffer.alloc(0)), frame('X', code(3))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new HelperFrameReader();
      const frames = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      assert.deepEqual(frames, [
        { kind: 'output', data: Buffer.from('hello') },
        { kind: 'prompt' },
        { kind: 'exited', exitCode: 3 },
      ]);
    }
  });

  it('refuses a frame no helper sends', () => {
    const refused = [
      Buffer.from([0x44, 0xff, 0xff, 0xff, 0xff]), // 4 GiB announced
      frame('Q', Buffer.alloc(0)),
      frame('P', Buffer.from('x')),
      frame('X', code(256)),
      frame('X', Buffer.alloc(2)),
    ];
    for (const bad of refused) assert.throws(() => new HelperFrameReader().push(bad), FrameError, bad.toString('hex'));
  });
});

describe('frames to the helper', () => {
  it('splits input at the helper limit and encodes a resize', () => {
    const frames = inputFrames(Buffer.alloc(MAX_FRAME_PAYLOAD * 2 + 1, 1));
    assert.deepEqual(
      frames.map((f) => [String.fromCharCode(f[0]!), f.readUInt32BE(1), f.length - 5]),
      [
        ['D', MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD],
        ['D', MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD],
        ['D', 1, 1],
      ],
    );
    assert.deepEqual([...resizeFrame(40, 132)], [0x52, 0, 0, 0, 4, 0, 40, 0, 132]);
  });
});
