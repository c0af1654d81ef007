/**
 * The low-level client: one method per RPC of `CodebaseService` and `SandboxService`, plain
 * TypeScript types in and out, typed errors, milliseconds for every duration.
 *
 * Deadlines: unary control calls get `deadlineMs` (default 30 s) unless a call passes its
 * own. `exec`/`sessionExec` get the command's `timeoutMs` plus a grace period (so the
 * server's own timeout answers first) and no deadline without a timeout. Streams and
 * uploads have no deadline; cancel them with an AbortSignal.
 *
 * Retries (UNAVAILABLE only, exponential backoff with full jitter): only the idempotent
 * reads `getCodebase`, `listCodebases`, `listFiles`, `downloadFile` (only before the first
 * chunk arrived; `readFile` uses it), `getSandbox`, `listSandboxes`, `getSession`,
 * `listSessions`. Never retried, because a repeat after a request that did reach the
 * server would act twice or fail confusingly: create*, delete/destroy*, start/stop
 * (a second start fails with "already running"), upload, exec and sessions.
 */
import { credentials, Metadata, status, type ChannelOptions } from '@grpc/grpc-js';
import {
  CodebaseServiceClient,
  type UploadChunk,
  type UploadResult as UploadResultMessage,
} from '../generated/codebase';
import { BatchUploadServiceClient } from '../generated/batch_upload';
import { TerminalServiceClient } from '../generated/terminal';
import { InteractiveTerminal, type TerminalOptions } from './interactiveTerminal';
import { BatchFailure, batchUploadCall, type BatchFile } from './batchUpload';
import {
  SandboxServiceClient,
  type ExecOutput,
  type ExecRequest,
  type Sandbox as SandboxMessage,
  type SessionExecRequest,
} from '../generated/sandbox';
import type { NormalizedRule, PermissionRule } from '../shared/permissions';
import { InvalidPathError, normalizeCodebasePath } from '../shared/codebasePath';
import {
  clientStreamCall,
  serverStreamCall,
  unaryCall,
  type ServerStreamMethod,
  type UnaryMethod,
} from './callAdapters';
import {
  codebaseFromProto,
  execOutputFromProto,
  execResultFromProto,
  fileInfoFromProto,
  msToDuration,
  resourcesToProto,
  rulesToProto,
  runtimeToProto,
  sandboxFromProto,
  sessionFromProto,
  uploadResultFromProto,
} from './convert';
import {
  AgentFenseError,
  InvalidConfigurationError,
  UploadError,
  isServiceError,
  toAgentFenseError,
  type CallContext,
} from './errors';
import { sandboxRules } from './sandboxRules';
import { CommandOutput, commandEndOf, type CommandEnd } from './commandOutput';
import { AUDIT_REQUEST_HEADER } from '../shared/streamTrailers';
import {
  DEFAULT_RETRY_POLICY,
  abortableSleep,
  backoffDelayMs,
  isRetryableStatus,
  withRetry,
  type RetryPolicy,
} from './retry';
import type {
  CodebaseInfo,
  ExecOutputChunk,
  ExecResult,
  FileInfo,
  Page,
  ResourceLimits,
  RuntimeType,
  SandboxInfo,
  SessionInfo,
  UploadResult,
} from './types';
import { UploadSizeMismatchError, knownSize, uploadChunks, type UploadContent } from './uploadChunks';

export const DEFAULT_ENDPOINT = 'localhost:9000';
export const DEFAULT_DEADLINE_MS = 30_000;
/** Extra time the client waits beyond a command's timeout before giving up itself. */
export const EXEC_DEADLINE_GRACE_MS = 5_000;

export interface SandboxClientOptions {
  /** `unix:/path/to.sock` or `host:port`; default `localhost:9000`. */
  endpoint?: string;
  /** TLS with the system's root certificates. */
  secure?: boolean;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** Default deadline of unary control calls; default 30 s. */
  deadlineMs?: number;
  /** HTTP/2 keepalive ping interval; off by default. */
  keepAliveMs?: number;
  retry?: RetryPolicy;
  /** Largest response accepted (a command's whole output); default 64 MiB. */
  maxMessageBytes?: number;
}

/** Per-call overrides accepted by every method. */
export interface CallOverrides {
  signal?: AbortSignal;
  /** Deadline of this call; replaces the client's default. */
  deadlineMs?: number;
}

export interface CreateSandboxOptions extends CallOverrides {
  /** A built-in preset whose rules come first; none by default at this level. */
  preset?: string;
  /** Appended to the preset's rules; validated locally (errors name the bad rule). */
  permissions?: readonly (PermissionRule | NormalizedRule)[];
  expiresInMs?: number;
  labels?: Record<string, string>;
  runtime?: RuntimeType;
  image?: string;
  resources?: ResourceLimits;
}

export interface ExecOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** Working directory inside the sandbox; default `/workspace`. */
  workdir?: string;
  /** Command timeout enforced by the server. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Record the accesses the sandbox's rules refuse (the embedded server; it traces the
   * command's file calls, which costs time): ExecResult / CommandOutput `denials`.
   */
  audit?: boolean;
}

export interface SessionExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UploadFileOptions {
  /** Required when content is a stream. */
  size?: number;
  signal?: AbortSignal;
  /** Called as data chunks are handed to gRPC, with each chunk's length. */
  onBytes?: (n: number) => void;
}

export class SandboxClient implements AsyncDisposable {
  readonly endpoint: string;
  private readonly codebaseStub: CodebaseServiceClient;
  private readonly sandboxStub: SandboxServiceClient;
  private readonly batchStub: BatchUploadServiceClient;
  private readonly terminalStub: TerminalServiceClient;
  /** Whether the server serves UploadBatch, once a probe has told. */
  private batchSupport: Promise<boolean> | undefined;
  private readonly token: string | undefined;
  private readonly deadlineMs: number;
  private readonly retryPolicy: RetryPolicy;
  private closed = false;

  constructor(options: SandboxClientOptions = {}) {
    this.endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
    if (this.endpoint.trim() === '') throw new InvalidConfigurationError('endpoint must not be empty');
    this.token = options.token;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.retryPolicy = options.retry ?? DEFAULT_RETRY_POLICY;
    const channelOptions: ChannelOptions = {
      'grpc.max_receive_message_length': options.maxMessageBytes ?? 64 * 1024 * 1024,
      'grpc.max_send_message_length': options.maxMessageBytes ?? 64 * 1024 * 1024,
      // Retries are ours (idempotent calls only, see retry.ts). grpc-js's own retry layer
      // would also buffer every message of every call in case it replays them.
      'grpc.enable_retries': 0,
    };
    if (options.keepAliveMs !== undefined) {
      channelOptions['grpc.keepalive_time_ms'] = options.keepAliveMs;
      channelOptions['grpc.keepalive_permit_without_calls'] = 1;
    }
    const creds = options.secure ? credentials.createSsl() : credentials.createInsecure();
    this.codebaseStub = new CodebaseServiceClient(this.endpoint, creds, channelOptions);
    // Both services share one channel (one connection).
    this.sandboxStub = new SandboxServiceClient(this.endpoint, creds, {
      ...channelOptions,
      channelOverride: this.codebaseStub.getChannel(),
    });
    this.batchStub = new BatchUploadServiceClient(this.endpoint, creds, {
      ...channelOptions,
      channelOverride: this.codebaseStub.getChannel(),
    });
    this.terminalStub = new TerminalServiceClient(this.endpoint, creds, {
      ...channelOptions,
      channelOverride: this.codebaseStub.getChannel(),
    });
  }

  /** Closes the connection; calls in flight are cancelled. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sandboxStub.close();
    this.batchStub.close();
    this.terminalStub.close();
    this.codebaseStub.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ---------------------------------------------------------------------------------------
  // Codebases

  async createCodebase(name: string, ownerId = '', opts: CallOverrides = {}): Promise<CodebaseInfo> {
    const res = await this.unary(
      { call: 'createCodebase' },
      this.codebaseStub.createCodebase.bind(this.codebaseStub),
      { name, ownerId },
      opts,
      false,
    );
    return codebaseFromProto(res);
  }

  async getCodebase(codebaseId: string, opts: CallOverrides = {}): Promise<CodebaseInfo> {
    requireId('codebaseId', codebaseId);
    const res = await this.unary(
      { call: 'getCodebase', codebaseId },
      this.codebaseStub.getCodebase.bind(this.codebaseStub),
      { codebaseId },
      opts,
      true,
    );
    return codebaseFromProto(res);
  }

  async listCodebases(
    query: { ownerId?: string } & Page = {},
    opts: CallOverrides = {},
  ): Promise<{ codebases: CodebaseInfo[]; nextPageToken: string }> {
    const req = { ownerId: query.ownerId ?? '', pageSize: query.pageSize ?? 0, pageToken: query.pageToken ?? '' };
    const res = await this.unary(
      { call: 'listCodebases' },
      this.codebaseStub.listCodebases.bind(this.codebaseStub),
      req,
      opts,
      true,
    );
    return { codebases: res.codebases.map(codebaseFromProto), nextPageToken: res.nextPageToken };
  }

  async deleteCodebase(codebaseId: string, opts: CallOverrides = {}): Promise<void> {
    requireId('codebaseId', codebaseId);
    await this.unary(
      { call: 'deleteCodebase', codebaseId },
      this.codebaseStub.deleteCodebase.bind(this.codebaseStub),
      { codebaseId },
      opts,
      false,
    );
  }

  /**
   * Uploads one file (one `UploadFiles` call): metadata first, then ≤ 64 KiB chunks read
   * from `content` as they are sent. For streams `opts.size` is required and must match.
   */
  async uploadFile(
    codebaseId: string,
    path: string,
    content: UploadContent,
    opts: UploadFileOptions = {},
  ): Promise<UploadResult> {
    this.assertOpen();
    requireId('codebaseId', codebaseId);
    const filePath = codebasePath(path, false);
    const inMemory = knownSize(content);
    if (inMemory !== undefined && opts.size !== undefined && opts.size !== inMemory) {
      throw new InvalidConfigurationError(
        `size ${opts.size} given for ${JSON.stringify(filePath)}, but the content has ${inMemory} bytes`,
      );
    }
    const totalSize = inMemory ?? opts.size;
    if (totalSize === undefined || !Number.isSafeInteger(totalSize) || totalSize < 0) {
      throw new InvalidConfigurationError(
        `uploading a stream to ${JSON.stringify(filePath)} needs its size (options.size)`,
      );
    }
    const ctx: CallContext = { call: 'uploadFile', endpoint: this.endpoint, codebaseId, filePath };
    try {
      const res = await clientStreamCall<UploadChunk, UploadResultMessage>(
        this.codebaseStub.uploadFiles.bind(this.codebaseStub),
        uploadChunks({ codebaseId, filePath, totalSize }, content, opts.onBytes),
        { metadata: this.metadata(), signal: opts.signal },
      );
      return uploadResultFromProto(res);
    } catch (err) {
      if (opts.signal?.aborted && err === opts.signal.reason) throw err;
      if (isServiceError(err)) throw toAgentFenseError(err, ctx);
      if (err instanceof AgentFenseError) throw err;
      const reason =
        err instanceof UploadSizeMismatchError
          ? err.message
          : `reading the content failed: ${(err as Error)?.message ?? err}`;
      throw new UploadError(codebaseId, filePath, { code: status.UNKNOWN, call: 'uploadFile', reason, cause: err });
    }
  }

  /**
   * Whether the server offers UploadBatch (our extension; the embedded server does,
   * AgentFense's own does not): an empty call asks, once per client.
   */
  supportsBatchUpload(): Promise<boolean> {
    this.assertOpen();
    const ask = (md: Metadata) => this.batchStub.uploadBatch(md, { deadline: Date.now() + this.deadlineMs });
    const probe = (this.batchSupport ??= batchUploadCall(ask, '', [][Symbol.iterator](), {
      metadata: this.metadata(),
    }).then(
      () => true,
      (err: unknown) => {
        const reason = err instanceof BatchFailure ? err.reason : err;
        // Unreachable or refused credentials: per-file uploads would fail the same way, and
        // the question stays open. Any other answer (UNIMPLEMENTED from a server without it,
        // whatever a proxy says of an unknown path) means: use UploadFiles.
        if (isServiceError(reason) && (reason.code === status.UNAVAILABLE || reason.code === status.UNAUTHENTICATED)) {
          this.batchSupport = undefined;
          throw toAgentFenseError(reason, { call: 'uploadFile', endpoint: this.endpoint });
        }
        return false;
      },
    ));
    return probe;
  }

  /**
   * Uploads the files `files` yields in one UploadBatch call (see `supportsBatchUpload`);
   * files are pulled as the call has room, so several calls may share one iterator. Each
   * file is stored atomically; on failure the files answered so far (`onResult`) are stored.
   */
  async uploadBatch(
    codebaseId: string,
    files: Iterator<BatchFile>,
    opts: {
      signal?: AbortSignal;
      onBytes?: (path: string, n: number) => void;
      onResult?: (r: UploadResult) => void;
    } = {},
  ): Promise<UploadResult[]> {
    this.assertOpen();
    requireId('codebaseId', codebaseId);
    const checked: Iterator<BatchFile> = {
      next: () => {
        const n = files.next();
        return n.done ? n : { value: { ...n.value, path: codebasePath(n.value.path, false) } };
      },
    };
    try {
      const results = await batchUploadCall((md) => this.batchStub.uploadBatch(md), codebaseId, checked, {
        metadata: this.metadata(),
        signal: opts.signal,
        onBytes: opts.onBytes,
        onResult: opts.onResult && ((r) => opts.onResult!(uploadResultFromProto(r))),
      });
      return results.map(uploadResultFromProto);
    } catch (err) {
      if (!(err instanceof BatchFailure)) throw err; // the caller's abort reason
      const ctx: CallContext = { call: 'uploadFile', endpoint: this.endpoint, codebaseId, filePath: err.filePath };
      if (isServiceError(err.reason)) throw toAgentFenseError(err.reason, ctx);
      if (err.reason instanceof AgentFenseError) throw err.reason;
      const reason =
        err.reason instanceof UploadSizeMismatchError
          ? err.reason.message
          : `reading the content failed: ${(err.reason as Error)?.message ?? err.reason}`;
      throw new UploadError(codebaseId, err.filePath, {
        code: status.UNKNOWN,
        call: 'uploadFile',
        reason,
        cause: err.reason,
      });
    }
  }

  /**
   * The file's content as it arrives. The call starts when iteration starts; breaking out
   * of the loop or aborting `signal` cancels it. Retried on UNAVAILABLE before the first chunk.
   */
  async *downloadFile(
    codebaseId: string,
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): AsyncGenerator<Buffer, void, undefined> {
    this.assertOpen();
    requireId('codebaseId', codebaseId);
    const filePath = codebasePath(path, false);
    const ctx: CallContext = { call: 'downloadFile', endpoint: this.endpoint, codebaseId, filePath };
    const method: ServerStreamMethod<{ codebaseId: string; filePath: string }, { data: Buffer }> =
      this.codebaseStub.downloadFile.bind(this.codebaseStub);
    for (let attempt = 1; ; attempt++) {
      let received = false;
      try {
        for await (const chunk of serverStreamCall(
          method,
          { codebaseId, filePath },
          { metadata: this.metadata(), signal: opts.signal },
        )) {
          received = true;
          yield chunk.data;
        }
        return;
      } catch (err) {
        const retry =
          !received && attempt < this.retryPolicy.maxAttempts && isRetryableStatus(err) && !opts.signal?.aborted;
        if (!retry) throw toAgentFenseError(err, ctx);
      }
      await abortableSleep(backoffDelayMs(attempt, this.retryPolicy), opts.signal);
    }
  }

  /** The whole file in memory; use `downloadFile` for big files. */
  async readFile(codebaseId: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.downloadFile(codebaseId, path, opts)) parts.push(part);
    return Buffer.concat(parts);
  }

  async listFiles(
    codebaseId: string,
    query: { path?: string; recursive?: boolean } = {},
    opts: CallOverrides = {},
  ): Promise<FileInfo[]> {
    requireId('codebaseId', codebaseId);
    const path = codebasePath(query.path ?? '', true);
    const res = await this.unary(
      { call: 'listFiles', codebaseId, filePath: path },
      this.codebaseStub.listFiles.bind(this.codebaseStub),
      { codebaseId, path, recursive: query.recursive ?? false },
      opts,
      true,
    );
    return res.files.map(fileInfoFromProto);
  }

  // ---------------------------------------------------------------------------------------
  // Sandboxes

  async createSandbox(codebaseId: string, options: CreateSandboxOptions = {}): Promise<SandboxInfo> {
    requireId('codebaseId', codebaseId);
    const permissions = rulesToProto(sandboxRules(options.preset, options.permissions));
    if (options.runtime === 'docker' && !options.image) {
      throw new InvalidConfigurationError('the docker runtime needs an image', { call: 'createSandbox' });
    }
    const req = {
      codebaseId,
      permissions,
      expiresIn: options.expiresInMs === undefined ? undefined : msToDuration(options.expiresInMs),
      labels: { ...(options.labels ?? {}) },
      runtime: runtimeToProto(options.runtime),
      image: options.image ?? '',
      resources: resourcesToProto(options.resources),
    };
    const res = await this.unary(
      { call: 'createSandbox', codebaseId },
      this.sandboxStub.createSandbox.bind(this.sandboxStub),
      req,
      options,
      false,
    );
    return sandboxFromProto(res);
  }

  async getSandbox(sandboxId: string, opts: CallOverrides = {}): Promise<SandboxInfo> {
    return this.sandboxCall('getSandbox', sandboxId, this.sandboxStub.getSandbox.bind(this.sandboxStub), opts, true);
  }

  async listSandboxes(
    query: { codebaseId?: string } & Page = {},
    opts: CallOverrides = {},
  ): Promise<{ sandboxes: SandboxInfo[]; nextPageToken: string }> {
    const req = { codebaseId: query.codebaseId ?? '', pageSize: query.pageSize ?? 0, pageToken: query.pageToken ?? '' };
    const res = await this.unary(
      { call: 'listSandboxes', codebaseId: query.codebaseId },
      this.sandboxStub.listSandboxes.bind(this.sandboxStub),
      req,
      opts,
      true,
    );
    return { sandboxes: res.sandboxes.map(sandboxFromProto), nextPageToken: res.nextPageToken };
  }

  async startSandbox(sandboxId: string, opts: CallOverrides = {}): Promise<SandboxInfo> {
    return this.sandboxCall(
      'startSandbox',
      sandboxId,
      this.sandboxStub.startSandbox.bind(this.sandboxStub),
      opts,
      false,
    );
  }

  async stopSandbox(sandboxId: string, opts: CallOverrides = {}): Promise<SandboxInfo> {
    return this.sandboxCall('stopSandbox', sandboxId, this.sandboxStub.stopSandbox.bind(this.sandboxStub), opts, false);
  }

  async destroySandbox(sandboxId: string, opts: CallOverrides = {}): Promise<void> {
    requireId('sandboxId', sandboxId);
    await this.unary(
      { call: 'destroySandbox', sandboxId },
      this.sandboxStub.destroySandbox.bind(this.sandboxStub),
      { sandboxId },
      opts,
      false,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Commands

  /** Runs `command` with `/bin/sh -c` in the sandbox (at /workspace unless `workdir`). */
  async exec(sandboxId: string, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    requireId('sandboxId', sandboxId);
    let end: CommandEnd | undefined;
    const res = await this.unary(
      { call: 'exec', sandboxId, command, timeoutMs: opts.timeoutMs },
      this.sandboxStub.exec.bind(this.sandboxStub),
      execRequest(sandboxId, command, opts),
      { signal: opts.signal, deadlineMs: execDeadline(opts.timeoutMs) },
      false,
      { noDefaultDeadline: true, onTrailers: (md) => (end = commandEndOf(md)), audit: opts.audit },
    );
    return {
      ...execResultFromProto(res),
      pathsMerged: end?.pathsMerged,
      denials: end?.denials,
      refusedConnections: end?.refusedConnections,
    };
  }

  /**
   * The command's output as it is produced. Starts when iteration starts; cancel with
   * `signal` or by leaving the `for await` loop (the server sees the call cancelled).
   */
  execStream(sandboxId: string, command: string, opts: ExecOptions = {}): CommandOutput {
    requireId('sandboxId', sandboxId);
    return this.outputStream(
      { call: 'execStream', sandboxId, command, timeoutMs: opts.timeoutMs },
      this.sandboxStub.execStream.bind(this.sandboxStub),
      execRequest(sandboxId, command, opts),
      opts.signal,
      opts.audit,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Sessions

  /** A persistent shell; `shell` defaults to the server's default (`/bin/bash`). */
  async createSession(
    sandboxId: string,
    options: { shell?: string; env?: Record<string, string> } & CallOverrides = {},
  ): Promise<SessionInfo> {
    requireId('sandboxId', sandboxId);
    const req = { sandboxId, shell: options.shell ?? '', env: { ...(options.env ?? {}) } };
    const res = await this.unary(
      { call: 'createSession', sandboxId },
      this.sandboxStub.createSession.bind(this.sandboxStub),
      req,
      options,
      false,
    );
    return sessionFromProto(res);
  }

  async getSession(sessionId: string, opts: CallOverrides = {}): Promise<SessionInfo> {
    requireId('sessionId', sessionId);
    const res = await this.unary(
      { call: 'getSession', sessionId },
      this.sandboxStub.getSession.bind(this.sandboxStub),
      { sessionId },
      opts,
      true,
    );
    return sessionFromProto(res);
  }

  async listSessions(sandboxId: string, opts: CallOverrides = {}): Promise<SessionInfo[]> {
    requireId('sandboxId', sandboxId);
    const res = await this.unary(
      { call: 'listSessions', sandboxId },
      this.sandboxStub.listSessions.bind(this.sandboxStub),
      { sandboxId },
      opts,
      true,
    );
    return res.sessions.map(sessionFromProto);
  }

  async destroySession(sessionId: string, opts: CallOverrides = {}): Promise<void> {
    requireId('sessionId', sessionId);
    await this.unary(
      { call: 'destroySession', sessionId },
      this.sandboxStub.destroySession.bind(this.sandboxStub),
      { sessionId },
      opts,
      false,
    );
  }

  async sessionExec(sessionId: string, command: string, opts: SessionExecOptions = {}): Promise<ExecResult> {
    requireId('sessionId', sessionId);
    const res = await this.unary(
      { call: 'sessionExec', sessionId, command, timeoutMs: opts.timeoutMs },
      this.sandboxStub.sessionExec.bind(this.sandboxStub),
      sessionExecRequest(sessionId, command, opts),
      { signal: opts.signal, deadlineMs: execDeadline(opts.timeoutMs) },
      false,
      { noDefaultDeadline: true },
    );
    return execResultFromProto(res);
  }

  /**
   * Opens an interactive terminal in a running sandbox (the embedded server's
   * TerminalService). Against a server without it, `end` settles with a
   * TerminalUnsupportedError: use a session.
   */
  openTerminal(sandboxId: string, options: TerminalOptions = {}): InteractiveTerminal {
    requireId('sandboxId', sandboxId);
    this.assertOpen();
    return new InteractiveTerminal(this.terminalStub.openTerminal(this.metadata()), sandboxId, options, {
      call: 'openTerminal',
      endpoint: this.endpoint,
      sandboxId,
    });
  }

  sessionExecStream(sessionId: string, command: string, opts: SessionExecOptions = {}): CommandOutput {
    requireId('sessionId', sessionId);
    return this.outputStream(
      { call: 'sessionExecStream', sessionId, command, timeoutMs: opts.timeoutMs },
      this.sandboxStub.sessionExecStream.bind(this.sandboxStub),
      sessionExecRequest(sessionId, command, opts),
      opts.signal,
    );
  }

  // ---------------------------------------------------------------------------------------

  private metadata(audit = false): Metadata {
    const md = new Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    if (audit) md.set(AUDIT_REQUEST_HEADER, '1');
    return md;
  }

  private assertOpen(): void {
    if (this.closed) throw new AgentFenseError('the client is closed', { code: status.CANCELLED });
  }

  private async unary<Req, Res>(
    ctx: Omit<CallContext, 'endpoint'>,
    method: UnaryMethod<Req, Res>,
    req: Req,
    overrides: CallOverrides,
    idempotent: boolean,
    {
      noDefaultDeadline = false,
      onTrailers,
      audit = false,
    }: { noDefaultDeadline?: boolean; onTrailers?: (md: Metadata) => void; audit?: boolean } = {},
  ): Promise<Res> {
    this.assertOpen();
    const deadlineMs = overrides.deadlineMs ?? (noDefaultDeadline ? undefined : this.deadlineMs);
    const attempt = () =>
      unaryCall(method, req, { metadata: this.metadata(audit), deadlineMs, signal: overrides.signal, onTrailers });
    try {
      return idempotent
        ? await withRetry(attempt, { policy: this.retryPolicy, signal: overrides.signal })
        : await attempt();
    } catch (err) {
      throw toAgentFenseError(err, { ...ctx, endpoint: this.endpoint });
    }
  }

  private async sandboxCall(
    call: 'getSandbox' | 'startSandbox' | 'stopSandbox',
    sandboxId: string,
    method: UnaryMethod<{ sandboxId: string }, SandboxMessage>,
    opts: CallOverrides,
    idempotent: boolean,
  ): Promise<SandboxInfo> {
    requireId('sandboxId', sandboxId);
    return sandboxFromProto(await this.unary({ call, sandboxId }, method, { sandboxId }, opts, idempotent));
  }

  private outputStream<Req>(
    ctx: Omit<CallContext, 'endpoint'>,
    method: ServerStreamMethod<Req, ExecOutput>,
    req: Req,
    signal: AbortSignal | undefined,
    audit = false,
  ): CommandOutput {
    return new CommandOutput(this.outputChunks(ctx, method, req, signal, audit));
  }

  private async *outputChunks<Req>(
    ctx: Omit<CallContext, 'endpoint'>,
    method: ServerStreamMethod<Req, ExecOutput>,
    req: Req,
    signal: AbortSignal | undefined,
    audit: boolean,
  ): AsyncGenerator<ExecOutputChunk, Metadata | undefined, undefined> {
    this.assertOpen();
    const messages = serverStreamCall(method, req, { metadata: this.metadata(audit), signal });
    try {
      for (let next = await messages.next(); ; next = await messages.next()) {
        if (next.done) return next.value;
        yield execOutputFromProto(next.value);
      }
    } catch (err) {
      throw toAgentFenseError(err, { ...ctx, endpoint: this.endpoint });
    } finally {
      await messages.return(undefined); // a consumer that left early cancels the call
    }
  }
}

function execDeadline(timeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined ? undefined : timeoutMs + EXEC_DEADLINE_GRACE_MS;
}

function execRequest(sandboxId: string, command: string, opts: ExecOptions): ExecRequest {
  return {
    sandboxId,
    command,
    stdin: opts.stdin ?? '',
    env: { ...(opts.env ?? {}) },
    workdir: opts.workdir ?? '',
    timeout: opts.timeoutMs === undefined ? undefined : msToDuration(opts.timeoutMs),
  };
}

function sessionExecRequest(sessionId: string, command: string, opts: SessionExecOptions): SessionExecRequest {
  return { sessionId, command, timeout: opts.timeoutMs === undefined ? undefined : msToDuration(opts.timeoutMs) };
}

function requireId(name: string, value: string): void {
  if (typeof value !== 'string' || value === '')
    throw new InvalidConfigurationError(`${name} must be a non-empty string`);
}

/** Validates a codebase path locally, so a bad one never reaches the server. */
function codebasePath(path: string, allowRoot: boolean): string {
  try {
    return normalizeCodebasePath(path, { allowRoot });
  } catch (err) {
    if (err instanceof InvalidPathError) throw new InvalidConfigurationError(err.message, { cause: err });
    throw err;
  }
}
