/**
 * Requests that cannot be decoded strictly (invalid UTF-8 in a string, an int64 beyond
 * 2^53, garbage bytes) are INVALID_ARGUMENT naming the problem and the field, for unary,
 * server-streaming and client-streaming methods alike; nothing runs and nothing is stored.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/server-request-decoding.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { getPreset } from '../../src/shared/presets';
import { startServer, wireRules, type TestServer } from '../helpers/server';
import { execRequestBytes, INVALID_UTF8, pb, RawClient, uploadDataBytes, uploadMetaBytes } from '../security/lib/raw';

let server: TestServer;
let raw: RawClient;
let codebaseId: string;
let sandboxId: string;

before(async () => {
  server = await startServer();
  raw = new RawClient(server.address, () => new Metadata());
  codebaseId = await server.createCodebase({ 'keep.txt': 'original\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  raw.close();
  await server.stop();
});

async function rejected(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  assert.fail('the call succeeded');
}

const S = '/sandbox.v1.SandboxService/';
const U = '/sandbox.v1.CodebaseService/UploadFiles';

describe('strict request decoding', () => {
  it('invalid UTF-8 in a command or an env value names the field; the command does not run', async () => {
    const e = await rejected(
      raw.unary(
        `${S}Exec`,
        execRequestBytes({ sandboxId, command: Uint8Array.from([...Buffer.from('touch ran; echo '), 0xff]) }),
      ),
    );
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.equal(e.details, 'request is not valid: a string field is not valid UTF-8 (command)');
    assert.deepEqual(await server.listFiles(codebaseId), ['keep.txt'], 'the command did not run');
    const env = await rejected(
      raw.unary(`${S}Exec`, execRequestBytes({ sandboxId, command: 'true', env: [['K', INVALID_UTF8]] })),
    );
    assert.equal(env.code, status.INVALID_ARGUMENT);
    assert.equal(env.details, 'request is not valid: a string field is not valid UTF-8 (env["K"])');
    const key = await rejected(
      raw.unary(`${S}Exec`, execRequestBytes({ sandboxId, command: 'true', env: [[INVALID_UTF8, 'v']] })),
    );
    assert.match(key.details, /UTF-8 \(env \(a key\)\)/);
  });

  it('the server-streaming ExecStream gets the same answer', async () => {
    const e = await rejected(
      new Promise((resolve, reject) => {
        const call = raw.client.makeServerStreamRequest(
          `${S}ExecStream`,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => b,
          execRequestBytes({ sandboxId, command: INVALID_UTF8 }),
        );
        call.on('data', () => {});
        call.on('error', reject);
        call.on('end', resolve);
      }),
    );
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /not valid UTF-8 \(command\)/);
  });

  it('an int64 above 2^53 names the field instead of INTERNAL', async () => {
    const w = new BinaryWriter();
    pb.str(w, 1, codebaseId);
    pb.msg(w, 7, (m) => pb.int(m, 1, 2 ** 60));
    const e = await rejected(raw.unary(`${S}CreateSandbox`, w.finish()));
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /^request is not valid: a number is too large \(resources\.memory_bytes\)/);
  });

  it('garbage bytes are INVALID_ARGUMENT', async () => {
    const e = await rejected(raw.unary(`${S}Exec`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /^request is not valid: it is not a well-formed Exec message/);
  });

  it('a bad UploadFiles chunk fails the upload; nothing half-written', async () => {
    const big = Buffer.alloc(64 * 1024, 0x41);
    const garbage = Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]); // bytes field longer than the message
    const e = await rejected(
      raw.clientStream(U, [
        uploadMetaBytes(codebaseId, 'keep.txt', 3 * big.length),
        uploadDataBytes(big),
        garbage,
        uploadDataBytes(big),
      ]),
    );
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /request is not valid/);
    const meta = await rejected(
      raw.clientStream(U, [uploadMetaBytes(codebaseId, INVALID_UTF8, 2), uploadDataBytes(Buffer.from('hi'))]),
    );
    assert.equal(meta.details, 'request is not valid: a string field is not valid UTF-8 (metadata.file_path)');
    const size = await rejected(
      raw.clientStream(U, [uploadMetaBytes(codebaseId, 'new.txt', 2 ** 60), uploadDataBytes(Buffer.from('hi'))]),
    );
    assert.match(size.details, /too large \(metadata\.total_size\)/);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await server.listFiles(codebaseId), ['keep.txt']);
    assert.equal(await server.download(codebaseId, 'keep.txt'), 'original\n');
    // The server still serves uploads.
    await server.upload(codebaseId, 'after.txt', 'ok');
    assert.equal(await server.download(codebaseId, 'after.txt'), 'ok');
  });
});
