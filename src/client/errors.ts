/**
 * Typed errors of the client. Every failed call surfaces as an `AgentFenseError` subclass
 * chosen from the gRPC status *and* the call that failed (a NOT_FOUND from `getSandbox` is a
 * `SandboxNotFoundError`, from `downloadFile` a `FileNotFoundError`), keeping the server's
 * own message in `serverMessage`. Cancellation through an AbortSignal is not mapped: the
 * signal's reason is thrown, as Node's own APIs do.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import type { ExecResult } from './types';

export interface AgentFenseErrorInit {
  /** gRPC status; `OK` for errors the client raises after a successful call. */
  code: status;
  /** What the server said (its status details); empty for errors raised locally. */
  serverMessage?: string;
  /** The client method that failed, e.g. `getSandbox`. */
  call?: string;
  cause?: unknown;
}

export class AgentFenseError extends Error {
  readonly code: status;
  readonly serverMessage: string;
  readonly call: string | undefined;

  constructor(message: string, init: AgentFenseErrorInit) {
    const server = init.serverMessage ? `: ${init.serverMessage}` : '';
    super(
      `${init.call ? init.call + ': ' : ''}${message}${server}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = new.target.name;
    this.code = init.code;
    this.serverMessage = init.serverMessage ?? '';
    this.call = init.call;
  }
}

/** The server could not be reached (UNAVAILABLE). */
export class ConnectionError extends AgentFenseError {
  constructor(
    readonly endpoint: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`cannot reach the AgentFense server at ${endpoint}`, { ...init, code: status.UNAVAILABLE });
  }
}

export class SandboxNotFoundError extends AgentFenseError {
  constructor(
    readonly sandboxId: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`sandbox ${JSON.stringify(sandboxId)} not found`, { ...init, code: status.NOT_FOUND });
  }
}

/** The sandbox is pending or stopped (FAILED_PRECONDITION on exec/session calls). */
export class SandboxNotRunningError extends AgentFenseError {
  constructor(
    readonly sandboxId: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`sandbox ${JSON.stringify(sandboxId)} is not running`, { ...init, code: status.FAILED_PRECONDITION });
  }
}

export class CodebaseNotFoundError extends AgentFenseError {
  constructor(
    readonly codebaseId: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`codebase ${JSON.stringify(codebaseId)} not found`, { ...init, code: status.NOT_FOUND });
  }
}

export class FileNotFoundError extends AgentFenseError {
  constructor(
    readonly codebaseId: string,
    readonly filePath: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`file ${JSON.stringify(filePath)} not found in codebase ${JSON.stringify(codebaseId)}`, {
      ...init,
      code: status.NOT_FOUND,
    });
  }
}

/** The command ran longer than its timeout (DEADLINE_EXCEEDED on exec calls). */
export class CommandTimeoutError extends AgentFenseError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number | undefined,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    const after = timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`;
    super(`command timed out${after}: ${truncate(command, 100)}`, { ...init, code: status.DEADLINE_EXCEEDED });
  }
}

/** Raised by `run(..., { raiseOnError: true })` for a non-zero exit; carries the result. */
export class CommandExecutionError extends AgentFenseError {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const output = (result.stderr || result.stdout).trim();
    super(
      `command exited with code ${result.exitCode}: ${truncate(command, 100)}${output ? `\n${truncate(output, 500)}` : ''}`,
      { code: status.OK },
    );
    this.exitCode = result.exitCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

export class SessionNotFoundError extends AgentFenseError {
  constructor(
    readonly sessionId: string,
    init: Omit<AgentFenseErrorInit, 'code'>,
  ) {
    super(`session ${JSON.stringify(sessionId)} not found`, { ...init, code: status.NOT_FOUND });
  }
}

/** The session was closed (by this client, or the server reports it closed). */
export class SessionClosedError extends AgentFenseError {
  constructor(
    readonly sessionId: string,
    init: Omit<AgentFenseErrorInit, 'code'> = {},
  ) {
    super(`session ${JSON.stringify(sessionId)} is closed`, { ...init, code: status.FAILED_PRECONDITION });
  }
}

/** Bad input, found by the client before sending or by the server (INVALID_ARGUMENT). */
/** The server has no TerminalService (AgentFense's own server): use a session instead. */
export class TerminalUnsupportedError extends AgentFenseError {
  constructor(init: Omit<AgentFenseErrorInit, 'code'>) {
    super('this server offers no interactive terminal (no agentfense.ext.v1.TerminalService)', {
      ...init,
      code: status.UNIMPLEMENTED,
    });
  }
}

export class InvalidConfigurationError extends AgentFenseError {
  constructor(message: string, init: Omit<AgentFenseErrorInit, 'code'> = {}) {
    super(message, { ...init, code: status.INVALID_ARGUMENT });
  }
}

/** A file could not be uploaded; `code` is the underlying status, `cause` the underlying error. */
export class UploadError extends AgentFenseError {
  constructor(
    readonly codebaseId: string,
    readonly filePath: string,
    init: AgentFenseErrorInit & { reason?: string },
  ) {
    super(
      `upload of ${JSON.stringify(filePath)} to codebase ${JSON.stringify(codebaseId)} failed${init.reason ? ` (${init.reason})` : ''}`,
      init,
    );
  }
}

export class PermissionDeniedError extends AgentFenseError {
  constructor(init: Omit<AgentFenseErrorInit, 'code'>) {
    super('permission denied', { ...init, code: status.PERMISSION_DENIED });
  }
}

export class UnauthenticatedError extends AgentFenseError {
  constructor(init: Omit<AgentFenseErrorInit, 'code'>) {
    super('not authenticated (check the token)', { ...init, code: status.UNAUTHENTICATED });
  }
}

/** The server ran out of something (RESOURCE_EXHAUSTED): disk, sandboxes, memory. */
export class ResourceLimitExceededError extends AgentFenseError {
  constructor(init: Omit<AgentFenseErrorInit, 'code'>) {
    super('resource limit exceeded', { ...init, code: status.RESOURCE_EXHAUSTED });
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

// ---------------------------------------------------------------------------------------
// Mapping a gRPC failure to a typed error.

/** What the client knew about the failed call; decides which typed error a status becomes. */
export interface CallContext {
  call: ClientCallName;
  endpoint: string;
  sandboxId?: string;
  codebaseId?: string;
  sessionId?: string;
  filePath?: string;
  command?: string;
  timeoutMs?: number;
}

export type ClientCallName =
  | 'createCodebase'
  | 'getCodebase'
  | 'listCodebases'
  | 'deleteCodebase'
  | 'uploadFile'
  | 'downloadFile'
  | 'listFiles'
  | 'createSandbox'
  | 'getSandbox'
  | 'listSandboxes'
  | 'startSandbox'
  | 'stopSandbox'
  | 'destroySandbox'
  | 'exec'
  | 'execStream'
  | 'createSession'
  | 'getSession'
  | 'listSessions'
  | 'destroySession'
  | 'sessionExec'
  | 'sessionExecStream'
  | 'openTerminal';

type Resource = 'sandbox' | 'codebase' | 'session' | 'file';

/**
 * Which resource a NOT_FOUND of a call is about. When a call could miss several, the
 * server's message decides (first keyword found); the first entry is the fallback.
 */
const NOT_FOUND_RESOURCES: Record<ClientCallName, readonly Resource[]> = {
  createCodebase: ['codebase'],
  getCodebase: ['codebase'],
  listCodebases: ['codebase'],
  deleteCodebase: ['codebase'],
  uploadFile: ['codebase'],
  downloadFile: ['file', 'codebase'],
  listFiles: ['codebase', 'file'],
  createSandbox: ['codebase'],
  getSandbox: ['sandbox'],
  listSandboxes: ['codebase'],
  startSandbox: ['sandbox'],
  stopSandbox: ['sandbox'],
  destroySandbox: ['sandbox'],
  exec: ['sandbox'],
  execStream: ['sandbox'],
  createSession: ['sandbox'],
  getSession: ['session'],
  listSessions: ['sandbox'],
  destroySession: ['session'],
  sessionExec: ['session'],
  sessionExecStream: ['session'],
  openTerminal: ['sandbox'],
};

const RESOURCE_KEYWORDS: Record<Resource, RegExp> = {
  sandbox: /\bsandbox\b/i,
  codebase: /\bcodebase\b/i,
  session: /\bsession\b/i,
  file: /\b(file|path|directory)\b/i,
};

const EXEC_CALLS: ReadonlySet<ClientCallName> = new Set(['exec', 'execStream', 'sessionExec', 'sessionExecStream']);
const NEEDS_RUNNING_SANDBOX: ReadonlySet<ClientCallName> = new Set([
  'exec',
  'execStream',
  'createSession',
  'openTerminal',
]);
const SESSION_CALLS: ReadonlySet<ClientCallName> = new Set([
  'sessionExec',
  'sessionExecStream',
  'getSession',
  'destroySession',
]);

function pickNotFoundResource(call: ClientCallName, serverMessage: string): Resource {
  const candidates = NOT_FOUND_RESOURCES[call];
  if (candidates.length > 1) {
    const named = candidates.find((r) => RESOURCE_KEYWORDS[r].test(serverMessage));
    if (named) return named;
  }
  return candidates[0]!;
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** Turns a gRPC failure into the typed error for this call; other values pass through. */
export function toAgentFenseError(err: unknown, ctx: CallContext): Error {
  if (err instanceof AgentFenseError || !isServiceError(err)) return err as Error;
  const serverMessage = err.details ?? err.message;
  const init = { serverMessage, call: ctx.call, cause: err };
  switch (err.code) {
    case status.UNAVAILABLE:
      return new ConnectionError(ctx.endpoint, init);
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(init);
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(init);
    case status.INVALID_ARGUMENT:
      return new InvalidConfigurationError('invalid argument', init);
    case status.RESOURCE_EXHAUSTED:
      return new ResourceLimitExceededError(init);
    case status.NOT_FOUND:
      return notFoundError(ctx, serverMessage, init);
    case status.FAILED_PRECONDITION:
      if (SESSION_CALLS.has(ctx.call) && /closed/i.test(serverMessage))
        return new SessionClosedError(ctx.sessionId ?? '', init);
      if (NEEDS_RUNNING_SANDBOX.has(ctx.call) || /not running/i.test(serverMessage)) {
        return new SandboxNotRunningError(ctx.sandboxId ?? '', init);
      }
      break;
    case status.UNIMPLEMENTED:
      if (ctx.call === 'openTerminal') return new TerminalUnsupportedError(init);
      break;
    case status.DEADLINE_EXCEEDED:
      if (EXEC_CALLS.has(ctx.call)) return new CommandTimeoutError(ctx.command ?? '', ctx.timeoutMs, init);
      break;
  }
  if (ctx.call === 'uploadFile') {
    return new UploadError(ctx.codebaseId ?? '', ctx.filePath ?? '', { ...init, code: err.code });
  }
  return new AgentFenseError(describeStatus(err.code), { ...init, code: err.code });
}

function notFoundError(
  ctx: CallContext,
  serverMessage: string,
  init: Omit<AgentFenseErrorInit, 'code'>,
): AgentFenseError {
  switch (pickNotFoundResource(ctx.call, serverMessage)) {
    case 'sandbox':
      return new SandboxNotFoundError(ctx.sandboxId ?? '', init);
    case 'codebase':
      return new CodebaseNotFoundError(ctx.codebaseId ?? '', init);
    case 'session':
      return new SessionNotFoundError(ctx.sessionId ?? '', init);
    case 'file':
      return new FileNotFoundError(ctx.codebaseId ?? '', ctx.filePath ?? '', init);
  }
}

function describeStatus(code: status): string {
  const name = status[code];
  return name ? name.toLowerCase().replace(/_/g, ' ') : `status ${code}`;
}
