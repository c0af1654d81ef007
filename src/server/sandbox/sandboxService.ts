/** The gRPC SandboxService: request validation and wire conversion around SandboxManager. */
import { Metadata, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import {
  ExecOutput_OutputType,
  RuntimeType,
  type ExecOutput,
  type ExecRequest,
  type ExecResult,
  type SandboxServiceServer,
  type Session,
  type SessionExecRequest,
} from '../../generated/sandbox';
import { SessionStatus } from '../../generated/common';
import type { Duration } from '../../generated/google/protobuf/duration';
import { deadlineExceeded, failedPrecondition, invalidArgument, toRpcError } from '../rpc/rpcError';
import { unary, WithTrailers } from '../rpc/unary';
import { requireField } from '../rpc/requiredField';
import type { SandboxManager } from './sandboxManager';
import { listPosition, recordToWire, runtimeOf } from './sandboxRecord';
import { BWRAP, type SandboxRuntime } from '../../shared/sandboxRuntime';
import type { DockerEngine } from './docker/dockerEngine';
import { CONTAINER_INIT } from './docker/containerConfig';
import { decodePageToken, encodePageToken, isAfterCursor, resolvePageSize } from '../rpc/paging';
import { rulesFromWire } from './wireRules';
import type { HostCheck } from '../hostCheck/hostCheck';
import { checkSeccompProgram } from './runtime/seccompProgram';
import { MAX_ARG_BYTES } from './runtime/bwrapArgs';
import { hasLimits, validateLimits, type CgroupLimits, type ResourceLimitValues } from './runtime/cgroupLimits';
import { withDefaults } from './runtime/defaultLimits';
import type { OutputSink } from './runtime/commandRunner';
import { newSessionId } from './ids';
import { validShell } from './shellPath';
import type { SandboxSession } from './sandboxSession';
import {
  AUDIT_REQUEST_HEADER,
  DENIALS_TRAILER,
  EXIT_CODE_TRAILER,
  PATHS_MERGED_TRAILER,
  SESSION_CWD_TRAILER,
} from '../../shared/streamTrailers';
import { encodeDenials, type WireDenial } from '../../shared/denialWire';
import { networkPolicyOf, NetworkPolicyError } from '../../shared/networkPolicy';
import { CONNECTIONS_REFUSED_TRAILER, encodeRefusedConnections } from '../../shared/connectionRefusals';
import type { AuditOutcome } from './liveSandbox';

/**
 * The longest command timeout: Node's setTimeout treats a longer delay as 1 ms, which would
 * time the command out at once. (expires_in has no such limit: the manager re-arms.)
 */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const durationMs = (d: Duration | undefined, field: string, maxMs = Infinity): number | undefined => {
  if (!d) return undefined;
  const ms = d.seconds * 1000 + d.nanos / 1e6;
  if (!Number.isFinite(ms) || ms < 0 || d.seconds < 0 || d.nanos < 0)
    throw invalidArgument(`${field} must not be negative`);
  if (ms > maxMs)
    throw invalidArgument(
      `${field} must be at most ${maxMs / 1000}s (about ${Math.floor(maxMs / 86_400_000)} days); got ${d.seconds}s`,
    );
  return ms > 0 ? ms : undefined;
};
const timeoutMsOf = (d: Duration | undefined) => durationMs(d, 'timeout', MAX_TIMEOUT_MS);

/**
 * Exec and ExecStream pass the command to `/bin/sh -c` as one argument, so it is bounded by
 * MAX_ARG_BYTES; a session command is written to its shell's stdin and is bounded only by
 * the gRPC message size. A NUL byte cannot be part of either (argv strings and the shell's
 * input both end at it), so it is refused rather than cut.
 */
function validCommand(command: string, asArgument: boolean): void {
  if (!command.trim()) throw invalidArgument('command is required');
  if (command.includes('\0')) throw invalidArgument('command contains a NUL byte');
  if (!asArgument) return;
  const bytes = Buffer.byteLength(command);
  if (bytes > MAX_ARG_BYTES) {
    throw invalidArgument(
      `command is ${bytes} bytes; the limit is ${MAX_ARG_BYTES} bytes (Linux's limit on one argument). ` +
        'Send a longer script as stdin with the command "sh -s", or use a session.',
    );
  }
}
const toDuration = (ms: number): Duration => ({ seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) });
const secondsText = (ms: number) => `${Number((ms / 1000).toFixed(3))}s`;

/**
 * Aborts when the client gives up on the call: it cancelled, its deadline passed, or its
 * connection went away. grpc-js reports all of these as 'cancelled' (also, harmlessly, around
 * a normal end, when the command has already finished and the abort does nothing).
 */
function abortOnCancel(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): AbortSignal {
  const abort = new AbortController();
  if (call.cancelled) abort.abort();
  else call.once('cancelled', () => abort.abort());
  return abort.signal;
}

/** Adapts a gRPC writable stream to OutputSink, honouring its backpressure. */
function streamSink(call: ServerWritableStream<unknown, ExecOutput>): OutputSink {
  return {
    write: (stream, data) =>
      call.write({
        type: stream === 'stdout' ? ExecOutput_OutputType.OUTPUT_TYPE_STDOUT : ExecOutput_OutputType.OUTPUT_TYPE_STDERR,
        data,
      }),
    onceDrain: (resume) => call.once('drain', resume),
  };
}

function endStream(
  call: ServerWritableStream<unknown, ExecOutput>,
  exitCode: number,
  pathsMerged: number,
  sessionCwd?: string,
  audit?: AuditOutcome,
): void {
  const trailer = new Metadata();
  trailer.set(EXIT_CODE_TRAILER, String(exitCode));
  trailer.set(PATHS_MERGED_TRAILER, String(pathsMerged));
  if (sessionCwd !== undefined) trailer.set(SESSION_CWD_TRAILER, Buffer.from(sessionCwd));
  if (audit) setDenials(trailer, audit);
  call.end(trailer);
}

function auditRequested(md: Metadata): boolean {
  return md.get(AUDIT_REQUEST_HEADER)[0] === '1';
}

/**
 * An audited command's denials as the DENIALS_TRAILER (nothing when it was not audited), and
 * the connections its proxy refused as the CONNECTIONS_REFUSED_TRAILER (when there were any).
 */
function setDenials(trailer: Metadata, audit: AuditOutcome): void {
  if (audit.refusedConnections?.length)
    trailer.set(CONNECTIONS_REFUSED_TRAILER, encodeRefusedConnections(audit.refusedConnections));
  if (!audit.denials) return;
  const wire: WireDenial[] = audit.denials.map((d) => ({
    kind: d.kind,
    op: d.op,
    named: d.named,
    path: d.workspacePath,
    accessed: d.accessed,
    level: d.level,
    wants: d.wants,
    ...(d.rule ? { rule: d.rule } : {}),
    pid: d.pid,
    ...(d.process === undefined ? {} : { process: d.process }),
    time: d.time,
    count: d.count,
    ...(d.inCodebase === false ? { inCodebase: false as const } : {}),
  }));
  trailer.set(DENIALS_TRAILER, encodeDenials(wire, audit.denialsDropped ?? 0));
}

function failStream(call: ServerWritableStream<unknown, ExecOutput>, err: unknown): void {
  call.emit('error', toRpcError(err).toServiceError());
}

function sessionToWire(s: SandboxSession): Session {
  return {
    id: s.id,
    sandboxId: s.sandboxId,
    status: s.closed ? SessionStatus.SESSION_STATUS_CLOSED : SessionStatus.SESSION_STATUS_ACTIVE,
    shell: s.shell,
    createdAt: s.createdAt,
    closedAt: s.closedAt,
  };
}

/** What the Docker runtime needs from the server: the engine, its default limits, whether the runner was built. */
export interface DockerRuntimeSupport {
  engine: DockerEngine;
  /** Every default applies: Docker enforces them whatever the host's cgroup delegation. */
  defaultLimits: ResourceLimitValues;
  initInstalled: boolean;
}

const NO_LIMITS: ResourceLimitValues = { memoryBytes: 0, pidsLimit: 0, cpuQuota: 0, cpuShares: 0 };

/** A Docker image reference: required, one printable token (the engine parses the rest). */
function validImage(image: string): void {
  if (!image) throw invalidArgument('image is required for the Docker runtime (for example python:3.11-slim)');
  if (image.length > 512 || !/^[\x21-\x7e]+$/.test(image))
    throw invalidArgument(`image ${JSON.stringify(image)} is not a Docker image reference`);
}

export function createSandboxService(
  manager: SandboxManager,
  cgroups: CgroupLimits,
  host: Pick<HostCheck, 'require'>,
  defaultLimits: ResourceLimitValues | undefined,
  dockerRuntime: DockerRuntimeSupport,
): SandboxServiceServer {
  const execValidated = (req: ExecRequest) => {
    requireField(req.sandboxId, 'sandbox_id');
    validCommand(req.command, true);
    const timeoutMs = timeoutMsOf(req.timeout);
    const sb = manager.running(req.sandboxId);
    return { sb, timeoutMs };
  };
  const sessionValidated = (req: SessionExecRequest) => {
    validCommand(req.command, false);
    const timeoutMs = timeoutMsOf(req.timeout);
    const { sandbox, session } = manager.session(req.sessionId);
    if (session.closed || !sandbox) throw failedPrecondition(`session ${req.sessionId} is closed`);
    return { sandbox, session, timeoutMs };
  };
  const timedOut = (ms: number | undefined) => deadlineExceeded(`command timed out after ${secondsText(ms ?? 0)}`);

  return {
    createSandbox: unary(async (req) => {
      requireField(req.codebaseId, 'codebase_id');
      const docker = req.runtime === RuntimeType.RUNTIME_TYPE_DOCKER;
      if (
        !docker &&
        req.runtime !== RuntimeType.RUNTIME_TYPE_BWRAP &&
        req.runtime !== RuntimeType.RUNTIME_TYPE_UNSPECIFIED
      ) {
        throw invalidArgument(`unknown runtime ${req.runtime}`);
      }
      if (!docker && req.image)
        throw invalidArgument(
          'image applies to the Docker runtime only; bubblewrap sandboxes use the host system read-only',
        );
      if (docker) validImage(req.image);
      const rules = rulesFromWire(req.permissions);
      const expiresInMs = durationMs(req.expiresIn, 'expires_in');
      if (req.resources) validateLimits(req.resources);
      const requested = req.resources && hasLimits(req.resources) ? { ...req.resources } : undefined;
      // What was asked must be enforceable (never silently dropped); defaults fill the rest.
      // Docker enforces a container's limits itself.
      if (requested && !docker) cgroups.checkEnforceable(requested);
      // A network policy it cannot honour is refused, never run looser (or stricter) than asked.
      try {
        networkPolicyOf(req.labels);
      } catch (e) {
        if (e instanceof NetworkPolicyError) throw invalidArgument(e.message);
        throw e;
      }
      const merged = withDefaults(requested, (docker ? dockerRuntime.defaultLimits : defaultLimits) ?? NO_LIMITS);
      const resources = hasLimits(merged) ? merged : undefined;
      manager.store.snapshot(req.codebaseId); // NOT_FOUND for an unknown codebase
      if (docker) {
        // The engine and the image now, so that a sandbox that cannot start says why at once.
        if (!dockerRuntime.initInstalled) throw CONTAINER_INIT.missing();
        await dockerRuntime.engine.facts();
        await dockerRuntime.engine.ensureImage(req.image);
      } else {
        await host.require(); // FAILED_PRECONDITION naming each cause and its fix
        checkSeccompProgram();
      }
      const runtime: SandboxRuntime = docker ? { kind: 'docker', image: req.image } : BWRAP;
      return recordToWire(
        manager.create({
          codebaseId: req.codebaseId,
          rules,
          labels: { ...req.labels },
          expiresInMs,
          resources,
          runtime,
        }),
      );
    }),

    getSandbox: unary((req) => recordToWire(manager.get(req.sandboxId))),

    listSandboxes: unary((req) => {
      const pageSize = resolvePageSize(req.pageSize);
      const cursor = decodePageToken(req.pageToken);
      const all = manager.list(req.codebaseId); // in (createdAt, id) order
      // After the cursor's place in the order, whether or not its sandbox is still there.
      const found = cursor ? all.findIndex((r) => isAfterCursor(listPosition(r), cursor)) : 0;
      const start = found < 0 ? all.length : found;
      const page = all.slice(start, start + pageSize);
      const more = start + pageSize < all.length;
      return {
        sandboxes: page.map(recordToWire),
        nextPageToken: more ? encodePageToken(listPosition(page[page.length - 1]!)) : '',
      };
    }),

    startSandbox: unary(async (req) => {
      // An unknown id is NOT_FOUND, whatever the host; a Docker sandbox needs no bwrap.
      if (runtimeOf(manager.get(req.sandboxId)).kind === 'bwrap') await host.require();
      return recordToWire(await manager.start(req.sandboxId));
    }),
    stopSandbox: unary(async (req) => recordToWire(await manager.stop(req.sandboxId))),
    destroySandbox: unary(async (req) => {
      await manager.destroy(req.sandboxId);
      return {};
    }),

    exec: unary(async (req, call): Promise<WithTrailers<ExecResult>> => {
      const { sb, timeoutMs } = execValidated(req);
      // Nobody reads the result of a cancelled call: kill the command's tree (like ExecStream).
      const abort = abortOnCancel(call);
      const r = await sb.exec({
        command: req.command,
        stdin: req.stdin,
        env: req.env,
        workdir: req.workdir,
        timeoutMs,
        abort,
        audit: auditRequested(call.metadata),
      });
      if (r.timedOut) throw timedOut(timeoutMs);
      // The merge count (and an audit's denials) as trailers, as ExecStream sends them:
      // ExecResult is sandbox.v1's, unchanged.
      const trailers = new Metadata();
      trailers.set(PATHS_MERGED_TRAILER, String(r.pathsMerged));
      setDenials(trailers, r);
      return new WithTrailers(
        { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, duration: toDuration(r.durationMs) },
        trailers,
      );
    }),

    execStream: (call) => {
      const abort = abortOnCancel(call);
      (async () => {
        const { sb, timeoutMs } = execValidated(call.request);
        const r = await sb.exec({
          command: call.request.command,
          stdin: call.request.stdin,
          env: call.request.env,
          workdir: call.request.workdir,
          timeoutMs,
          sink: streamSink(call),
          abort,
          audit: auditRequested(call.metadata),
        });
        if (r.aborted) return;
        if (r.timedOut) throw timedOut(timeoutMs);
        endStream(call, r.exitCode, r.pathsMerged, undefined, r);
      })().catch((err) => failStream(call, err));
    },

    createSession: unary(async (req) => {
      const sb = manager.running(req.sandboxId);
      const shell = validShell(req.shell, sb.spec.runtime.kind);
      const session = await sb.openSession(newSessionId(), shell, { ...req.env });
      manager.registerSession(session);
      return sessionToWire(session);
    }),

    getSession: unary((req) => sessionToWire(manager.session(req.sessionId).session)),

    listSessions: unary((req) => ({ sessions: manager.sessionsOf(req.sandboxId).map(sessionToWire) })),

    destroySession: unary((req) => {
      manager.session(req.sessionId).session.close();
      return {};
    }),

    sessionExec: unary(async (req, call): Promise<ExecResult> => {
      const { sandbox, session, timeoutMs } = sessionValidated(req);
      // A cancelled call interrupts this command only, as SessionExecStream's cancel does.
      const r = await sandbox.sessionExec(session, req.command, timeoutMs, undefined, abortOnCancel(call));
      if (r.timedOut) throw timedOut(timeoutMs);
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, duration: toDuration(r.durationMs) };
    }),

    sessionExecStream: (call) => {
      // A client cancel (Ctrl+C in a terminal) interrupts this command only, like a timeout:
      // the session and its shell state stay. grpc-js may also emit 'cancelled' around a
      // normal end; by then the command has finished and the abort does nothing.
      const abort = abortOnCancel(call);
      (async () => {
        const { sandbox, session, timeoutMs } = sessionValidated(call.request);
        const r = await sandbox.sessionExec(session, call.request.command, timeoutMs, streamSink(call), abort);
        if (r.aborted) return;
        if (r.timedOut) throw timedOut(timeoutMs);
        endStream(call, r.exitCode, r.pathsMerged, r.cwd);
      })().catch((err) => failStream(call, err));
    },
  };
}
