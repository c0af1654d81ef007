/**
 * Raw gRPC calls with hand-built protobuf bytes, for inputs the generated encoders would not
 * produce (invalid UTF-8 in string fields, repeated oneof members, out-of-range enums).
 */
import { Client, credentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';

export class RawClient {
  readonly client: Client;
  constructor(
    address: string,
    private readonly md: () => Metadata,
  ) {
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  unary(method: string, body: Uint8Array, timeoutMs = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        method,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        body,
        this.md(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!)),
      ),
    );
  }

  /** A client stream of raw messages; `cancelAfter` cancels instead of half-closing. */
  clientStream(
    method: string,
    bodies: Uint8Array[],
    o: { cancelAfter?: number; timeoutMs?: number } = {},
  ): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(
        method,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        this.md(),
        { deadline: Date.now() + (o.timeoutMs ?? 30_000) },
        (err: ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!)),
      );
      bodies.forEach((b, i) => {
        if (o.cancelAfter !== undefined && i >= o.cancelAfter) return;
        call.write(b);
      });
      if (o.cancelAfter !== undefined) setTimeout(() => call.cancel(), 300);
      else call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Field writer helpers: tag = field << 3 | wire type. */
export const pb = {
  str(w: BinaryWriter, field: number, v: string | Uint8Array): BinaryWriter {
    w.uint32((field << 3) | 2);
    return typeof v === 'string' ? w.string(v) : w.bytes(v);
  },
  int(w: BinaryWriter, field: number, v: number): BinaryWriter {
    return w.uint32((field << 3) | 0).int64(v);
  },
  msg(w: BinaryWriter, field: number, inner: (w: BinaryWriter) => void): BinaryWriter {
    w.uint32((field << 3) | 2).fork();
    inner(w);
    return w.join();
  },
};

export const INVALID_UTF8 = Uint8Array.from([0x65, 0x63, 0x68, 0x6f, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a]);

/** ExecRequest with raw bytes for command and an env entry. */
export function execRequestBytes(o: {
  sandboxId: string;
  command: string | Uint8Array;
  env?: [string | Uint8Array, string | Uint8Array][];
  workdir?: string;
}): Uint8Array {
  const w = new BinaryWriter();
  pb.str(w, 1, o.sandboxId);
  pb.str(w, 2, o.command);
  for (const [k, v] of o.env ?? []) {
    pb.msg(w, 4, (m) => {
      pb.str(m, 1, k);
      pb.str(m, 2, v);
    });
  }
  if (o.workdir) pb.str(w, 5, o.workdir);
  return w.finish();
}

/** UploadChunk { metadata { codebase_id, file_path, total_size } } */
export function uploadMetaBytes(codebaseId: string, filePath: string | Uint8Array, totalSize: number): Uint8Array {
  const w = new BinaryWriter();
  pb.msg(w, 1, (m) => {
    pb.str(m, 1, codebaseId);
    pb.str(m, 2, filePath);
    pb.int(m, 3, totalSize);
  });
  return w.finish();
}

/** UploadChunk { data } */
export function uploadDataBytes(data: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  pb.str(w, 2, data);
  return w.finish();
}
