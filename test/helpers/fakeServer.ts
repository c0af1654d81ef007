/**
 * FakeServer: an in-memory test double of the AgentFense gRPC server (both services) on a
 * unix socket in a temp dir, for client tests that need a real grpc-js connection.
 *
 * What it models:
 * - codebases with files (uploads check the metadata-first protocol and record each
 *   call's data-chunk sizes in `uploads`); download/list read them back;
 * - sandboxes PENDING → start → RUNNING; exec on a non-running sandbox fails with
 *   FAILED_PRECONDITION "sandbox is not running"; unknown ids give NOT_FOUND;
 * - commands through a tiny interpreter (see `runCommand`): `echo TEXT`, `exit N`,
 *   `err TEXT` (stderr, exit 1), `write PATH TEXT` (writes into the codebase, as the real
 *   server syncs a command's writes), `sleep MS` (DEADLINE_EXCEEDED past the timeout),
 *   `forever` (streams a chunk every 20 ms until cancelled); anything else prints
 *   `ran: COMMAND`. Sessions also know `cd DIR`, `pwd`, `export K=V` and expand `$K`;
 * - failure injection: `failNext('getSandbox', status.UNAVAILABLE, status.UNAVAILABLE)`
 *   makes the next two GetSandbox calls fail, then they succeed again;
 * - observation: `calls` (method, request, metadata) and `cancelled` (methods whose call
 *   the server saw cancelled by the client), `waitForCancel(method)`.
 */
import { Server, ServerCredentials, status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodebaseServiceService, type CodebaseServiceServer, type FileInfo } from '../../src/generated/codebase';
import { SandboxStatus, SessionStatus, type PermissionRule } from '../../src/generated/common';
import {
  ExecOutput_OutputType,
  SandboxServiceService,
  type CreateSandboxRequest,
  type ExecOutput,
  type ExecRequest,
  type SessionExecRequest,
  type ExecResult,
  type ResourceLimits,
  type RuntimeType,
  type SandboxServiceServer,
} from '../../src/generated/sandbox';

export type FakeMethod = keyof CodebaseServiceServer | keyof SandboxServiceServer;

export interface RecordedCall {
  method: FakeMethod;
  request: unknown;
  metadata: Record<string, string>;
}

export interface FakeCodebase {
  id: string;
  name: string;
  ownerId: string;
  files: Map<string, Buffer>;
  createdAt: Date;
}

export interface FakeSandbox {
  id: string;
  codebaseId: string;
  permissions: PermissionRule[];
  status: SandboxStatus;
  labels: Record<string, string>;
  runtime: RuntimeType;
  image: string;
  resources: ResourceLimits | undefined;
  expiresInMs: number | undefined;
  createdAt: Date;
}

export interface FakeSession {
  id: string;
  sandboxId: string;
  shell: string;
  status: SessionStatus;
  cwd: string;
  env: Record<string, string>;
  createdAt: Date;
}

interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type Failure = { code: status; details?: string };

const CHUNK = 64 * 1024;

function rpcError(code: status, details: string): Partial<ServiceError> {
  return { code, details, message: details };
}

function metadataRecord(md: Metadata): Record<string, string> {
  return Object.fromEntries(Object.entries(md.getMap()).map(([k, v]) => [k, String(v)]));
}

export class FakeServer {
  readonly calls: RecordedCall[] = [];
  readonly cancelled: FakeMethod[] = [];
  /** One entry per UploadFiles call that completed: the file and its data-chunk sizes. */
  readonly uploads: { filePath: string; chunkSizes: number[] }[] = [];
  readonly codebases = new Map<string, FakeCodebase>();
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly sessions = new Map<string, FakeSession>();
  private readonly failures = new Map<FakeMethod, Failure[]>();
  private readonly cancelWaiters: { check: () => boolean; resolve: () => void }[] = [];
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<FakeServer> {
    const dir = await mkdtemp(join(tmpdir(), 'af-fake-'));
    const endpoint = `unix:${join(dir, 'af.sock')}`;
    const server = new Server();
    const fake = new FakeServer(server, dir, endpoint);
    server.addService(CodebaseServiceService, fake.codebaseService());
    server.addService(SandboxServiceService, fake.sandboxService());
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(endpoint, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return fake;
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The next calls of `method` fail with these statuses, one per call, in order. */
  failNext(method: FakeMethod, ...failures: (status | Failure)[]): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(...failures.map((f) => (typeof f === 'number' ? { code: f } : f)));
    this.failures.set(method, queue);
  }

  callsOf(method: FakeMethod): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once the server has seen `count` cancelled calls of `method`. */
  waitForCancel(method: FakeMethod, count = 1): Promise<void> {
    return new Promise((resolve) => {
      const check = () => this.cancelled.filter((m) => m === method).length >= count;
      if (check()) return resolve();
      this.cancelWaiters.push({ check, resolve });
    });
  }

  /** Adds a codebase with files directly (no upload). */
  seedCodebase(files: Record<string, string | Buffer> = {}): FakeCodebase {
    const cb: FakeCodebase = {
      id: this.id('cb'),
      name: 'seeded',
      ownerId: 'o',
      files: new Map(),
      createdAt: new Date(),
    };
    for (const [p, c] of Object.entries(files)) cb.files.set(p, Buffer.from(c));
    this.codebases.set(cb.id, cb);
    return cb;
  }

  // -------------------------------------------------------------------------------------

  private id(prefix: string): string {
    return `${prefix}_${this.nextId++}`;
  }

  /** Records the call and returns the injected failure, if any. */
  private enter(method: FakeMethod, request: unknown, metadata: Metadata): Partial<ServiceError> | undefined {
    this.calls.push({ method, request, metadata: metadataRecord(metadata) });
    const f = this.failures.get(method)?.shift();
    return f ? rpcError(f.code, f.details ?? `injected ${status[f.code]}`) : undefined;
  }

  private noteCancel(method: FakeMethod): void {
    this.cancelled.push(method);
    for (const w of this.cancelWaiters.filter((w) => w.check())) w.resolve();
  }

  private codebase(id: string): FakeCodebase {
    const cb = this.codebases.get(id);
    if (!cb) throw rpcError(status.NOT_FOUND, `codebase ${id} not found`);
    return cb;
  }

  private sandbox(id: string): FakeSandbox {
    const sb = this.sandboxes.get(id);
    if (!sb) throw rpcError(status.NOT_FOUND, `sandbox ${id} not found`);
    return sb;
  }

  private runningSandbox(id: string): FakeSandbox {
    const sb = this.sandbox(id);
    if (sb.status !== SandboxStatus.SANDBOX_STATUS_RUNNING)
      throw rpcError(status.FAILED_PRECONDITION, 'sandbox is not running');
    return sb;
  }

  private openSession(id: string): FakeSession {
    const s = this.sessions.get(id);
    if (!s) throw rpcError(status.NOT_FOUND, `session ${id} not found`);
    if (s.status === SessionStatus.SESSION_STATUS_CLOSED)
      throw rpcError(status.FAILED_PRECONDITION, 'session is closed');
    return s;
  }

  private sandboxMessage(sb: FakeSandbox) {
    return {
      id: sb.id,
      codebaseId: sb.codebaseId,
      permissions: sb.permissions,
      status: sb.status,
      labels: sb.labels,
      createdAt: sb.createdAt,
      startedAt: undefined,
      stoppedAt: undefined,
      expiresAt: sb.expiresInMs === undefined ? undefined : new Date(sb.createdAt.getTime() + sb.expiresInMs),
      runtime: sb.runtime,
      image: sb.image,
      resources: sb.resources,
    };
  }

  private sessionMessage(s: FakeSession) {
    return {
      id: s.id,
      sandboxId: s.sandboxId,
      status: s.status,
      shell: s.shell,
      createdAt: s.createdAt,
      closedAt: undefined,
    };
  }

  private codebaseMessage(cb: FakeCodebase) {
    let size = 0;
    for (const b of cb.files.values()) size += b.length;
    return {
      id: cb.id,
      name: cb.name,
      ownerId: cb.ownerId,
      size,
      fileCount: cb.files.size,
      createdAt: cb.createdAt,
      updatedAt: cb.createdAt,
    };
  }

  /** The tiny command interpreter described at the top. */
  private async runCommand(
    sandbox: FakeSandbox,
    command: string,
    opts: { timeoutMs?: number; session?: FakeSession; env?: Record<string, string>; isCancelled: () => boolean },
  ): Promise<CommandOutput> {
    const env = { ...(opts.session?.env ?? {}), ...(opts.env ?? {}) };
    const expanded = command.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, k: string) => env[k] ?? '');
    const [verb = '', ...rest] = expanded.split(' ');
    const arg = rest.join(' ');
    const ok = (stdout: string): CommandOutput => ({ stdout, stderr: '', exitCode: 0 });
    switch (verb) {
      case 'echo':
        return ok(arg + '\n');
      case 'exit':
        return { stdout: '', stderr: '', exitCode: Number(arg) };
      case 'err':
        return { stdout: '', stderr: arg + '\n', exitCode: 1 };
      case 'write': {
        const [path = '', ...text] = rest;
        this.codebase(sandbox.codebaseId).files.set(path, Buffer.from(text.join(' ')));
        return ok('');
      }
      case 'sleep': {
        const ms = Number(arg);
        const limit = opts.timeoutMs ?? Infinity;
        await new Promise((r) => setTimeout(r, Math.min(ms, limit)));
        if (ms > limit) throw rpcError(status.DEADLINE_EXCEEDED, `command timed out after ${limit}ms`);
        return ok('');
      }
      case 'cd':
        if (opts.session) opts.session.cwd = arg.startsWith('/') ? arg : `${opts.session.cwd}/${arg}`;
        return ok('');
      case 'pwd':
        return ok((opts.session?.cwd ?? '/workspace') + '\n');
      case 'export': {
        const [k = '', v = ''] = arg.split('=');
        if (opts.session) opts.session.env[k] = v;
        return ok('');
      }
      default:
        return ok(`ran: ${expanded}\n`);
    }
  }

  private codebaseService(): CodebaseServiceServer {
    return {
      createCodebase: (call, cb) => {
        const fail = this.enter('createCodebase', call.request, call.metadata);
        if (fail) return cb(fail, null);
        const c: FakeCodebase = {
          id: this.id('cb'),
          name: call.request.name,
          ownerId: call.request.ownerId,
          files: new Map(),
          createdAt: new Date(),
        };
        this.codebases.set(c.id, c);
        cb(null, this.codebaseMessage(c));
      },
      getCodebase: (call, cb) => {
        const fail = this.enter('getCodebase', call.request, call.metadata);
        if (fail) return cb(fail, null);
        try {
          cb(null, this.codebaseMessage(this.codebase(call.request.codebaseId)));
        } catch (e) {
          cb(e as ServiceError, null);
        }
      },
      listCodebases: (call, cb) => {
        const fail = this.enter('listCodebases', call.request, call.metadata);
        if (fail) return cb(fail, null);
        const all = [...this.codebases.values()].filter(
          (c) => !call.request.ownerId || c.ownerId === call.request.ownerId,
        );
        cb(null, { codebases: all.map((c) => this.codebaseMessage(c)), nextPageToken: '' });
      },
      deleteCodebase: (call, cb) => {
        const fail = this.enter('deleteCodebase', call.request, call.metadata);
        if (fail) return cb(fail, null);
        if (!this.codebases.delete(call.request.codebaseId))
          return cb(rpcError(status.NOT_FOUND, `codebase ${call.request.codebaseId} not found`), null);
        cb(null, {});
      },
      uploadFiles: (call, cb) => {
        const fail = this.enter('uploadFiles', undefined, call.metadata);
        if (fail) return cb(fail, null);
        let meta: { codebaseId: string; filePath: string; totalSize: number } | undefined;
        const parts: Buffer[] = [];
        const chunkSizes: number[] = [];
        let failed = false;
        const failWith = (e: Partial<ServiceError>) => {
          if (failed) return;
          failed = true;
          cb(e, null);
        };
        call.on('data', (chunk: { metadata?: typeof meta; data?: Buffer }) => {
          if (failed) return;
          if (!meta) {
            if (!chunk.metadata) return failWith(rpcError(status.INVALID_ARGUMENT, 'first chunk must carry metadata'));
            meta = chunk.metadata;
            if (!this.codebases.has(meta.codebaseId))
              return failWith(rpcError(status.NOT_FOUND, `codebase ${meta.codebaseId} not found`));
            return;
          }
          if (chunk.metadata) return failWith(rpcError(status.INVALID_ARGUMENT, 'metadata sent twice'));
          parts.push(chunk.data ?? Buffer.alloc(0));
          chunkSizes.push(chunk.data?.length ?? 0);
        });
        call.on('end', () => {
          if (failed) return;
          if (!meta) return failWith(rpcError(status.INVALID_ARGUMENT, 'no metadata'));
          const content = Buffer.concat(parts);
          if (content.length !== meta.totalSize) {
            return failWith(
              rpcError(status.INVALID_ARGUMENT, `got ${content.length} bytes, expected ${meta.totalSize}`),
            );
          }
          this.codebase(meta.codebaseId).files.set(meta.filePath, content);
          this.uploads.push({ filePath: meta.filePath, chunkSizes });
          cb(null, {
            codebaseId: meta.codebaseId,
            filePath: meta.filePath,
            size: content.length,
            checksum: createHash('sha256').update(content).digest('hex'),
          });
        });
      },
      downloadFile: (call) => {
        const fail = this.enter('downloadFile', call.request, call.metadata);
        if (fail) return call.emit('error', fail);
        try {
          const content = this.codebase(call.request.codebaseId).files.get(call.request.filePath);
          if (!content) throw rpcError(status.NOT_FOUND, `file ${call.request.filePath} not found`);
          for (let i = 0; i < content.length; i += CHUNK) call.write({ data: content.subarray(i, i + CHUNK) });
          call.end();
        } catch (e) {
          call.emit('error', e);
        }
      },
      listFiles: (call, cb) => {
        const fail = this.enter('listFiles', call.request, call.metadata);
        if (fail) return cb(fail, null);
        try {
          const c = this.codebase(call.request.codebaseId);
          const prefix = call.request.path ? call.request.path + '/' : '';
          const out = new Map<string, FileInfo>();
          for (const [p, content] of c.files) {
            if (!p.startsWith(prefix)) continue;
            const rest = p.slice(prefix.length);
            const slash = rest.indexOf('/');
            if (call.request.recursive || slash < 0) {
              out.set(p, {
                path: p,
                name: rest.split('/').pop()!,
                isDir: false,
                size: content.length,
                modifiedAt: c.createdAt,
              });
            } else {
              const dir = prefix + rest.slice(0, slash);
              out.set(dir, { path: dir, name: rest.slice(0, slash), isDir: true, size: 0, modifiedAt: c.createdAt });
            }
          }
          cb(null, { files: [...out.values()] });
        } catch (e) {
          cb(e as ServiceError, null);
        }
      },
    };
  }

  private sandboxService(): SandboxServiceServer {
    /** Wraps a unary handler: records, injects failures, turns thrown errors into statuses. */
    const unary =
      <Req, Res>(method: FakeMethod, body: (req: Req, cancelled: () => boolean) => Res | Promise<Res>) =>
      (
        call: { request: Req; metadata: Metadata; on(e: 'cancelled', l: () => void): unknown },
        cb: (e: Partial<ServiceError> | null, r: Res | null) => void,
      ) => {
        const fail = this.enter(method, call.request, call.metadata);
        if (fail) return cb(fail, null);
        let cancelled = false;
        let answered = false;
        // grpc-js may also emit 'cancelled' after the answer went out; only earlier counts.
        call.on('cancelled', () => {
          if (answered) return;
          cancelled = true;
          this.noteCancel(method);
        });
        Promise.resolve()
          .then(() => body(call.request, () => cancelled))
          .then(
            (res) => {
              answered = true;
              cb(null, res);
            },
            (err) => {
              answered = true;
              cb(err, null);
            },
          );
      };

    const execResult = (out: CommandOutput, startedAt: number): ExecResult => ({
      stdout: out.stdout,
      stderr: out.stderr,
      exitCode: out.exitCode,
      duration: { seconds: 0, nanos: (Date.now() - startedAt) * 1e6 },
    });

    /** Streams a command: `forever` until cancelled, otherwise its stdout then its stderr. */
    const streamCommand = async (
      method: FakeMethod,
      call: {
        write(o: ExecOutput): boolean;
        end(): void;
        emit(e: 'error', err: unknown): boolean;
        on(e: 'cancelled', l: () => void): unknown;
        cancelled: boolean;
      },
      run: () => Promise<CommandOutput>,
      command: string,
    ) => {
      let cancelled = false;
      let ended = false;
      call.on('cancelled', () => {
        if (ended) return;
        cancelled = true;
        this.noteCancel(method);
      });
      try {
        if (command === 'forever') {
          for (let i = 0; !cancelled; i++) {
            call.write({ type: ExecOutput_OutputType.OUTPUT_TYPE_STDOUT, data: Buffer.from(`tick ${i}\n`) });
            await new Promise((r) => setTimeout(r, 20));
          }
          return;
        }
        const out = await run();
        if (out.stdout) call.write({ type: ExecOutput_OutputType.OUTPUT_TYPE_STDOUT, data: Buffer.from(out.stdout) });
        if (out.stderr) call.write({ type: ExecOutput_OutputType.OUTPUT_TYPE_STDERR, data: Buffer.from(out.stderr) });
        ended = true;
        call.end();
      } catch (e) {
        ended = true;
        call.emit('error', e);
      }
    };

    const durationMs = (d: { seconds: number; nanos: number } | undefined) =>
      d ? d.seconds * 1000 + d.nanos / 1e6 : undefined;

    return {
      createSandbox: unary('createSandbox', (req: CreateSandboxRequest) => {
        this.codebase(req.codebaseId);
        const sb: FakeSandbox = {
          id: this.id('sb'),
          codebaseId: req.codebaseId,
          permissions: req.permissions,
          status: SandboxStatus.SANDBOX_STATUS_PENDING,
          labels: req.labels,
          runtime: req.runtime,
          image: req.image,
          resources: req.resources,
          expiresInMs: durationMs(req.expiresIn),
          createdAt: new Date(),
        };
        this.sandboxes.set(sb.id, sb);
        return this.sandboxMessage(sb);
      }),
      getSandbox: unary('getSandbox', (req: { sandboxId: string }) => this.sandboxMessage(this.sandbox(req.sandboxId))),
      listSandboxes: unary('listSandboxes', (req: { codebaseId: string }) => ({
        sandboxes: [...this.sandboxes.values()]
          .filter((s) => !req.codebaseId || s.codebaseId === req.codebaseId)
          .map((s) => this.sandboxMessage(s)),
        nextPageToken: '',
      })),
      startSandbox: unary('startSandbox', (req: { sandboxId: string }) => {
        const sb = this.sandbox(req.sandboxId);
        if (sb.status === SandboxStatus.SANDBOX_STATUS_RUNNING)
          throw rpcError(status.FAILED_PRECONDITION, 'sandbox is already running');
        sb.status = SandboxStatus.SANDBOX_STATUS_RUNNING;
        return this.sandboxMessage(sb);
      }),
      stopSandbox: unary('stopSandbox', (req: { sandboxId: string }) => {
        const sb = this.runningSandbox(req.sandboxId);
        sb.status = SandboxStatus.SANDBOX_STATUS_STOPPED;
        return this.sandboxMessage(sb);
      }),
      destroySandbox: unary('destroySandbox', (req: { sandboxId: string }) => {
        this.sandbox(req.sandboxId);
        this.sandboxes.delete(req.sandboxId);
        for (const s of this.sessions.values())
          if (s.sandboxId === req.sandboxId) s.status = SessionStatus.SESSION_STATUS_CLOSED;
        return {};
      }),
      exec: unary('exec', async (req: ExecRequest, cancelled) => {
        const started = Date.now();
        const sb = this.runningSandbox(req.sandboxId);
        const out = await this.runCommand(sb, req.command, {
          timeoutMs: durationMs(req.timeout),
          env: req.env,
          isCancelled: cancelled,
        });
        return execResult(out, started);
      }),
      execStream: (call) => {
        const fail = this.enter('execStream', call.request, call.metadata);
        if (fail) return call.emit('error', fail);
        const req = call.request;
        let sb: FakeSandbox;
        try {
          sb = this.runningSandbox(req.sandboxId);
        } catch (e) {
          return call.emit('error', e);
        }
        void streamCommand(
          'execStream',
          call,
          () =>
            this.runCommand(sb, req.command, {
              timeoutMs: durationMs(req.timeout),
              env: req.env,
              isCancelled: () => call.cancelled,
            }),
          req.command,
        );
      },
      createSession: unary(
        'createSession',
        (req: { sandboxId: string; shell: string; env: Record<string, string> }) => {
          this.runningSandbox(req.sandboxId);
          const s: FakeSession = {
            id: this.id('sess'),
            sandboxId: req.sandboxId,
            shell: req.shell || '/bin/bash',
            status: SessionStatus.SESSION_STATUS_ACTIVE,
            cwd: '/workspace',
            env: { ...req.env },
            createdAt: new Date(),
          };
          this.sessions.set(s.id, s);
          return this.sessionMessage(s);
        },
      ),
      getSession: unary('getSession', (req: { sessionId: string }) => {
        const s = this.sessions.get(req.sessionId);
        if (!s) throw rpcError(status.NOT_FOUND, `session ${req.sessionId} not found`);
        return this.sessionMessage(s);
      }),
      listSessions: unary('listSessions', (req: { sandboxId: string }) => {
        this.sandbox(req.sandboxId);
        return {
          sessions: [...this.sessions.values()]
            .filter((s) => s.sandboxId === req.sandboxId)
            .map((s) => this.sessionMessage(s)),
        };
      }),
      destroySession: unary('destroySession', (req: { sessionId: string }) => {
        const s = this.sessions.get(req.sessionId);
        if (!s) throw rpcError(status.NOT_FOUND, `session ${req.sessionId} not found`);
        this.sessions.delete(req.sessionId);
        return {};
      }),
      sessionExec: unary('sessionExec', async (req: SessionExecRequest, cancelled) => {
        const started = Date.now();
        const s = this.openSession(req.sessionId);
        const out = await this.runCommand(this.runningSandbox(s.sandboxId), req.command, {
          timeoutMs: durationMs(req.timeout),
          session: s,
          isCancelled: cancelled,
        });
        return execResult(out, started);
      }),
      sessionExecStream: (call) => {
        const fail = this.enter('sessionExecStream', call.request, call.metadata);
        if (fail) return call.emit('error', fail);
        const req = call.request;
        let s: FakeSession;
        let sb: FakeSandbox;
        try {
          s = this.openSession(req.sessionId);
          sb = this.runningSandbox(s.sandboxId);
        } catch (e) {
          return call.emit('error', e);
        }
        void streamCommand(
          'sessionExecStream',
          call,
          () =>
            this.runCommand(sb, req.command, {
              timeoutMs: durationMs(req.timeout),
              session: s,
              isCancelled: () => call.cancelled,
            }),
          req.command,
        );
      },
    };
  }
}

/** A unique name, for tests that need one. */
export const uniqueName = () => `t-${randomUUID().slice(0, 8)}`;
