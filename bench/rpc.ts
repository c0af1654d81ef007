/**
 * Promise-shaped calls over the generated grpc-js clients. The bench talks to the server
 * through these (not the extension's client library) for the server-side scenarios, so a
 * figure measures the server plus one gRPC hop, nothing else.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  CodebaseServiceClient,
  type Codebase,
  type FileInfo,
  type ListCodebasesResponse,
  type ListFilesResponse,
  type UploadResult,
} from '../src/generated/codebase';
import {
  SandboxServiceClient,
  type ExecResult,
  type Sandbox,
  type Session,
  RuntimeType,
} from '../src/generated/sandbox';
import type { Empty, PermissionRule as WireRule } from '../src/generated/common';
import { getPreset } from '../src/shared/presets';
import { wireRules } from '../test/helpers/server';

export interface Rpc {
  codebases: CodebaseServiceClient;
  sandboxes: SandboxServiceClient;
  listCodebases(): Promise<Codebase[]>;
  createCodebase(name: string): Promise<Codebase>;
  uploadFile(codebaseId: string, filePath: string, content: Buffer): Promise<UploadResult>;
  listFiles(codebaseId: string, path?: string, recursive?: boolean): Promise<FileInfo[]>;
  /** A bubblewrap sandbox, unless `docker` names the image of a Docker one. */
  createSandbox(codebaseId: string, preset: string, docker?: { image: string }): Promise<Sandbox>;
  startSandbox(sandboxId: string): Promise<Sandbox>;
  stopSandbox(sandboxId: string): Promise<Sandbox>;
  destroySandbox(sandboxId: string): Promise<void>;
  exec(sandboxId: string, command: string, timeoutSeconds?: number): Promise<ExecResult>;
  /** Resolves with the ms from the call until the first output chunk, and at the end. */
  execStreamFirstOutput(sandboxId: string, command: string): Promise<{ firstOutputMs: number; totalMs: number }>;
  createSession(sandboxId: string, shell?: string): Promise<Session>;
  sessionExec(sessionId: string, command: string): Promise<ExecResult>;
  destroySession(sessionId: string): Promise<void>;
  close(): void;
}

export function presetToWire(preset: string): WireRule[] {
  return wireRules(getPreset(preset));
}

function unary<Res>(start: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

/** Node's default of 4 MB is too small for a 1 MB-per-line stdout plus headroom. */
const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};
/** What the Python SDK sends per chunk. */
const UPLOAD_CHUNK = 64 * 1024;

export function connect(socketPath: string): Rpc {
  const address = `unix:${socketPath}`;
  const codebases = new CodebaseServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  const sandboxes = new SandboxServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  // Short names: every method below is one call on one of these two.
  const cb = codebases;
  const sb = sandboxes;
  return {
    codebases,
    sandboxes,
    listCodebases: async () =>
      (
        await unary<ListCodebasesResponse>((done) =>
          cb.listCodebases({ ownerId: '', pageSize: 0, pageToken: '' }, done),
        )
      ).codebases,
    createCodebase: (name) => unary<Codebase>((done) => cb.createCodebase({ name, ownerId: 'bench' }, done)),
    uploadFile: (codebaseId, filePath, content) =>
      new Promise((resolve, reject) => {
        const stream = cb.uploadFiles((err, res) => (err ? reject(err) : resolve(res)));
        stream.write({ metadata: { codebaseId, filePath, totalSize: content.length } });
        for (let off = 0; off < content.length; off += UPLOAD_CHUNK) {
          stream.write({ data: content.subarray(off, off + UPLOAD_CHUNK) });
        }
        stream.end();
      }),
    listFiles: async (codebaseId, path = '', recursive = true) =>
      (await unary<ListFilesResponse>((done) => cb.listFiles({ codebaseId, path, recursive }, done))).files,
    createSandbox: (codebaseId, preset, docker) =>
      unary<Sandbox>((done) =>
        sb.createSandbox(
          {
            codebaseId,
            permissions: presetToWire(preset),
            expiresIn: undefined,
            labels: { bench: '1' },
            runtime: docker ? RuntimeType.RUNTIME_TYPE_DOCKER : RuntimeType.RUNTIME_TYPE_BWRAP,
            image: docker?.image ?? '',
            resources: undefined,
          },
          done,
        ),
      ),
    startSandbox: (sandboxId) => unary<Sandbox>((done) => sb.startSandbox({ sandboxId }, done)),
    stopSandbox: (sandboxId) => unary<Sandbox>((done) => sb.stopSandbox({ sandboxId }, done)),
    destroySandbox: async (sandboxId) => {
      await unary<Empty>((done) => sb.destroySandbox({ sandboxId }, done));
    },
    exec: (sandboxId, command, timeoutSeconds = 120) =>
      unary<ExecResult>((done) =>
        sb.exec(
          { sandboxId, command, stdin: '', env: {}, workdir: '', timeout: { seconds: timeoutSeconds, nanos: 0 } },
          done,
        ),
      ),
    execStreamFirstOutput: (sandboxId, command) =>
      new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const ms = () => Number(process.hrtime.bigint() - start) / 1e6;
        let first: number | undefined;
        const stream = sb.execStream({
          sandboxId,
          command,
          stdin: '',
          env: {},
          workdir: '',
          timeout: { seconds: 60, nanos: 0 },
        });
        stream.on('data', () => {
          first ??= ms();
        });
        stream.on('error', reject);
        stream.on('end', () => resolve({ firstOutputMs: first ?? NaN, totalMs: ms() }));
      }),
    createSession: (sandboxId, shell = '/bin/sh') =>
      unary<Session>((done) => sb.createSession({ sandboxId, shell, env: {} }, done)),
    sessionExec: (sessionId, command) =>
      unary<ExecResult>((done) => sb.sessionExec({ sessionId, command, timeout: { seconds: 60, nanos: 0 } }, done)),
    destroySession: async (sessionId) => {
      await unary<Empty>((done) => sb.destroySession({ sessionId }, done));
    },
    close() {
      codebases.close();
      sandboxes.close();
    },
  };
}
