// Wire compatibility: field numbers, wire types and enum values as in docs/agentfense-protocol.md.
// Messages are encoded with the generated code and read back field by field with the raw
// BinaryReader, so a renumbered or retyped field in proto/*.proto fails here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  CodebaseServiceService,
  FileInfo,
  ListFilesRequest,
  UploadChunk,
  UploadResult,
  Codebase,
} from '../../src/generated/codebase';
import { PatternType, Permission, PermissionRule, SandboxStatus, SessionStatus } from '../../src/generated/common';
import {
  CreateSandboxRequest,
  ExecOutput,
  ExecOutput_OutputType,
  ExecRequest,
  ExecResult,
  RuntimeType,
  Sandbox,
  SandboxServiceService,
  Session,
  SessionExecRequest,
} from '../../src/generated/sandbox';
import { msToDuration, rulesToProto } from '../../src/client/convert';

type Field = { no: number; wire: WireType; value: number | Uint8Array };

/** Every field of an encoded message, in order: varints as numbers, length-delimited as bytes. */
function fields(bytes: Uint8Array): Field[] {
  const reader = new BinaryReader(bytes);
  const out: Field[] = [];
  while (reader.pos < reader.len) {
    const [no, wire] = reader.tag();
    if (wire === WireType.Varint) out.push({ no, wire, value: Number(reader.int64()) });
    else if (wire === WireType.LengthDelimited) out.push({ no, wire, value: reader.bytes() });
    else throw new Error(`unexpected wire type ${wire} for field ${no}`);
  }
  return out;
}

const text = (v: number | Uint8Array) => Buffer.from(v as Uint8Array).toString();
const V = WireType.Varint;
const LD = WireType.LengthDelimited;

/** Field numbers and wire types only. */
const shape = (fs: Field[]) => fs.map((f) => [f.no, f.wire]);

describe('protocol field numbers', () => {
  test('PermissionRule: 1 pattern, 2 type, 3 permission, 4 priority — as the client builds it', () => {
    const [rule] = rulesToProto([{ pattern: '/a', type: 'file', permission: 'write', priority: 7 }]);
    const fs = fields(PermissionRule.encode(rule!).finish());
    assert.deepEqual(shape(fs), [
      [1, LD],
      [2, V],
      [3, V],
      [4, V],
    ]);
    assert.equal(text(fs[0]!.value), '/a');
    assert.equal(fs[1]!.value, 3, 'PATTERN_TYPE_FILE = 3');
    assert.equal(fs[2]!.value, 4, 'PERMISSION_WRITE = 4');
    assert.equal(fs[3]!.value, 7);
  });

  test('enum values', () => {
    assert.deepEqual(
      [
        Permission.PERMISSION_UNSPECIFIED,
        Permission.PERMISSION_NONE,
        Permission.PERMISSION_VIEW,
        Permission.PERMISSION_READ,
        Permission.PERMISSION_WRITE,
      ],
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      [PatternType.PATTERN_TYPE_GLOB, PatternType.PATTERN_TYPE_DIRECTORY, PatternType.PATTERN_TYPE_FILE],
      [1, 2, 3],
    );
    assert.deepEqual(
      [
        SandboxStatus.SANDBOX_STATUS_PENDING,
        SandboxStatus.SANDBOX_STATUS_RUNNING,
        SandboxStatus.SANDBOX_STATUS_STOPPED,
        SandboxStatus.SANDBOX_STATUS_ERROR,
      ],
      [1, 2, 3, 4],
    );
    assert.deepEqual([SessionStatus.SESSION_STATUS_ACTIVE, SessionStatus.SESSION_STATUS_CLOSED], [1, 2]);
    assert.deepEqual([RuntimeType.RUNTIME_TYPE_BWRAP, RuntimeType.RUNTIME_TYPE_DOCKER], [1, 2]);
    assert.deepEqual([ExecOutput_OutputType.OUTPUT_TYPE_STDOUT, ExecOutput_OutputType.OUTPUT_TYPE_STDERR], [1, 2]);
  });

  test('UploadChunk: metadata is field 1 (1 codebase_id, 2 file_path, 3 total_size), data field 2', () => {
    const meta = fields(
      UploadChunk.encode({ metadata: { codebaseId: 'cb', filePath: 'a/b', totalSize: 200_000 } }).finish(),
    );
    assert.deepEqual(shape(meta), [[1, LD]]);
    const inner = fields(meta[0]!.value as Uint8Array);
    assert.deepEqual(shape(inner), [
      [1, LD],
      [2, LD],
      [3, V],
    ]);
    assert.deepEqual([text(inner[0]!.value), text(inner[1]!.value), inner[2]!.value], ['cb', 'a/b', 200_000]);

    const data = fields(UploadChunk.encode({ data: Buffer.from([9, 8]) }).finish());
    assert.deepEqual(shape(data), [[2, LD]]);
    assert.deepEqual([...(data[0]!.value as Uint8Array)], [9, 8]);
  });

  test('UploadResult, FileInfo, ListFilesRequest, Codebase', () => {
    const ur = fields(UploadResult.encode({ codebaseId: 'c', filePath: 'f', size: 5, checksum: 'ab' }).finish());
    assert.deepEqual(shape(ur), [
      [1, LD],
      [2, LD],
      [3, V],
      [4, LD],
    ]);
    const fi = fields(
      FileInfo.encode({ path: 'a/b', name: 'b', isDir: true, size: 3, modifiedAt: new Date(1000) }).finish(),
    );
    assert.deepEqual(shape(fi), [
      [1, LD],
      [2, LD],
      [3, V],
      [4, V],
      [5, LD],
    ]);
    const lf = fields(ListFilesRequest.encode({ codebaseId: 'c', path: 'src', recursive: true }).finish());
    assert.deepEqual(shape(lf), [
      [1, LD],
      [2, LD],
      [3, V],
    ]);
    const cb = fields(
      Codebase.encode({
        id: 'i',
        name: 'n',
        ownerId: 'o',
        size: 2 ** 40,
        fileCount: 2,
        createdAt: new Date(1000),
        updatedAt: new Date(2000),
      }).finish(),
    );
    assert.deepEqual(shape(cb), [
      [1, LD],
      [2, LD],
      [3, LD],
      [4, V],
      [5, V],
      [6, LD],
      [7, LD],
    ]);
    assert.equal(cb[3]!.value, 2 ** 40, 'size is an int64');
  });

  test('ExecRequest: 1 sandbox_id, 2 command, 3 stdin, 4 env map, 5 workdir, 6 timeout Duration', () => {
    const fs = fields(
      ExecRequest.encode({
        sandboxId: 'sb',
        command: 'ls',
        stdin: 'in',
        env: { K: 'V' },
        workdir: '/w',
        timeout: msToDuration(1500),
      }).finish(),
    );
    assert.deepEqual(shape(fs), [
      [1, LD],
      [2, LD],
      [3, LD],
      [4, LD],
      [5, LD],
      [6, LD],
    ]);
    const entry = fields(fs[3]!.value as Uint8Array);
    assert.deepEqual(
      shape(entry),
      [
        [1, LD],
        [2, LD],
      ],
      'map entry: 1 key, 2 value',
    );
    assert.deepEqual([text(entry[0]!.value), text(entry[1]!.value)], ['K', 'V']);
    const duration = fields(fs[5]!.value as Uint8Array);
    assert.deepEqual(
      duration.map((f) => [f.no, f.value]),
      [
        [1, 1],
        [2, 500_000_000],
      ],
      'Duration{seconds: 1, nanos: 5e8}',
    );
  });

  test('ExecResult 4 duration; ExecOutput 1 type, 2 data; SessionExecRequest 3 timeout', () => {
    const er = fields(
      ExecResult.encode({ stdout: 'o', stderr: 'e', exitCode: 2, duration: { seconds: 1, nanos: 0 } }).finish(),
    );
    assert.deepEqual(shape(er), [
      [1, LD],
      [2, LD],
      [3, V],
      [4, LD],
    ]);
    const eo = fields(
      ExecOutput.encode({ type: ExecOutput_OutputType.OUTPUT_TYPE_STDERR, data: Buffer.from('x') }).finish(),
    );
    assert.deepEqual(
      eo.map((f) => [f.no, f.wire]),
      [
        [1, V],
        [2, LD],
      ],
    );
    assert.equal(eo[0]!.value, 2);
    const se = fields(
      SessionExecRequest.encode({ sessionId: 's', command: 'c', timeout: { seconds: 3, nanos: 0 } }).finish(),
    );
    assert.deepEqual(shape(se), [
      [1, LD],
      [2, LD],
      [3, LD],
    ]);
  });

  test('Sandbox: 3 permissions, 4 status, 5 labels, 6-9 timestamps, 10 runtime, 11 image, 12 resources', () => {
    const d = new Date(5000);
    const fs = fields(
      Sandbox.encode({
        id: 'sb',
        codebaseId: 'cb',
        permissions: [{ pattern: '**', type: 1, permission: 3, priority: 0 }],
        status: SandboxStatus.SANDBOX_STATUS_RUNNING,
        labels: { a: 'b' },
        createdAt: d,
        startedAt: d,
        stoppedAt: d,
        expiresAt: d,
        runtime: RuntimeType.RUNTIME_TYPE_DOCKER,
        image: 'img',
        resources: { memoryBytes: 1, cpuQuota: 2, cpuShares: 3, pidsLimit: 4 },
      }).finish(),
    );
    assert.deepEqual(shape(fs), [
      [1, LD],
      [2, LD],
      [3, LD],
      [4, V],
      [5, LD],
      [6, LD],
      [7, LD],
      [8, LD],
      [9, LD],
      [10, V],
      [11, LD],
      [12, LD],
    ]);
    const resources = fields(fs[11]!.value as Uint8Array);
    assert.deepEqual(
      resources.map((f) => [f.no, f.value]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ],
    );
    const timestamp = fields(fs[5]!.value as Uint8Array);
    assert.deepEqual(
      timestamp.map((f) => [f.no, f.value]),
      [[1, 5]],
      'Timestamp{seconds: 5}',
    );
  });

  test('CreateSandboxRequest: 2 permissions, 3 expires_in, 4 labels, 5 runtime, 6 image, 7 resources', () => {
    const fs = fields(
      CreateSandboxRequest.encode({
        codebaseId: 'cb',
        permissions: rulesToProto([{ pattern: '**/*', permission: 'read' }]),
        expiresIn: msToDuration(60_000),
        labels: { k: 'v' },
        runtime: RuntimeType.RUNTIME_TYPE_BWRAP,
        image: 'i',
        resources: { memoryBytes: 9, cpuQuota: 0, cpuShares: 0, pidsLimit: 0 },
      }).finish(),
    );
    assert.deepEqual(shape(fs), [
      [1, LD],
      [2, LD],
      [3, LD],
      [4, LD],
      [5, V],
      [6, LD],
      [7, LD],
    ]);
  });

  test('Session: 3 status, 4 shell, 5 created_at, 6 closed_at', () => {
    const fs = fields(
      Session.encode({
        id: 's',
        sandboxId: 'sb',
        status: SessionStatus.SESSION_STATUS_CLOSED,
        shell: '/bin/bash',
        createdAt: new Date(1000),
        closedAt: new Date(2000),
      }).finish(),
    );
    assert.deepEqual(shape(fs), [
      [1, LD],
      [2, LD],
      [3, V],
      [4, LD],
      [5, LD],
      [6, LD],
    ]);
  });

  test('service paths and streaming kinds', () => {
    assert.equal(SandboxServiceService.exec.path, '/sandbox.v1.SandboxService/Exec');
    assert.equal(SandboxServiceService.execStream.responseStream, true);
    assert.equal(SandboxServiceService.sessionExecStream.path, '/sandbox.v1.SandboxService/SessionExecStream');
    assert.equal(CodebaseServiceService.uploadFiles.path, '/sandbox.v1.CodebaseService/UploadFiles');
    assert.equal(CodebaseServiceService.uploadFiles.requestStream, true);
    assert.equal(CodebaseServiceService.uploadFiles.responseStream, false);
    assert.equal(CodebaseServiceService.downloadFile.responseStream, true);
  });
});
