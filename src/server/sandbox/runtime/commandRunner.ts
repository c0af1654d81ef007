/**
 * Runs one command in a fresh bwrap and either collects its output (Exec) or streams it to a
 * sink that may push back (ExecStream). A timeout or cancellation kills the whole tree.
 */
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { launchBwrap, killSandboxTree, type Launch } from './bwrapLauncher';
import { AUDIT_FD } from '../audit/auditedCommand';
import type { LaunchGate, Release } from './launchGate';

/**
 * ExecResult keeps at most this much of each stream (as UTF-8 on the wire). Most gRPC
 * clients, the Python SDK among them, accept 4 MiB per message by default: stdout and
 * stderr at 1 MiB each plus the rest stay well under it. ExecStream has no cap.
 */
export const OUTPUT_CAP_BYTES = 1024 * 1024;

export type StreamName = 'stdout' | 'stderr';

/** Where streamed output goes; `write` returning false asks for a pause until `onDrain`. */
export interface OutputSink {
  write(stream: StreamName, data: Buffer): boolean;
  onceDrain(resume: () => void): void;
}

export interface RunRequest {
  launch: Launch;
  /** Waited on before bwrap starts; the timeout counts from then (see launchGate.ts). */
  gate: LaunchGate;
  stdin: CommandInput;
  timeoutMs?: number;
  sink?: OutputSink;
  /** Aborting kills the command (a cancelled call). */
  abort?: AbortSignal;
  /** What strace reports of an audited command (the launch has an audit pipe). */
  onAudit?: (chunk: string) => void;
}

/** A command's stdin: all of it at once, or a stream (ended when it ends: the E2B front's SendInput). */
export type CommandInput = string | Buffer | Readable;

/** Feeds `input` to a command's stdin; a command that exits without reading it is not an error. */
export function feedStdin(stdin: Writable, input: CommandInput): void {
  stdin.on('error', () => {});
  if (typeof input === 'string' || Buffer.isBuffer(input)) stdin.end(input);
  else {
    input.on('error', () => stdin.end());
    input.pipe(stdin);
  }
}

export interface RunOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/** Collects up to a cap, then counts what it dropped. */
export class CappedOutput {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(private readonly cap = OUTPUT_CAP_BYTES) {}

  push(data: Buffer): void {
    const room = this.cap - this.kept;
    if (room >= data.length) {
      this.chunks.push(data);
      this.kept += data.length;
    } else {
      if (room > 0) this.chunks.push(data.subarray(0, room));
      this.kept += Math.max(0, room);
      this.dropped += data.length - Math.max(0, room);
    }
  }

  text(): string {
    const raw = Buffer.concat(this.chunks);
    // toString('utf8') replaces invalid sequences with U+FFFD (3 bytes each), so binary
    // output can grow up to threefold: then keep the longest prefix that still fits the cap.
    let s = raw.toString('utf8');
    let dropped = this.dropped;
    if (Buffer.byteLength(s) > this.cap) {
      let lo = 0;
      let hi = raw.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (Buffer.byteLength(raw.subarray(0, mid).toString('utf8')) <= this.cap) lo = mid;
        else hi = mid - 1;
      }
      s = raw.subarray(0, lo).toString('utf8');
      dropped += raw.length - lo;
    }
    return dropped > 0 ? `${s}\n[agentfense: output truncated, ${dropped} bytes dropped]` : s;
  }
}

export async function runCommand(req: RunRequest): Promise<RunOutcome> {
  let release: Release;
  try {
    release = await req.gate.acquire(req.abort);
  } catch {
    // Cancelled while waiting for a slot: nothing ran.
    return {
      exitCode: 128 + signalNumber('SIGKILL'),
      stdout: '',
      stderr: '',
      timedOut: false,
      aborted: true,
      durationMs: 0,
    };
  }
  try {
    return await runLaunched(req);
  } finally {
    release();
  }
}

function runLaunched(req: RunRequest): Promise<RunOutcome> {
  const started = performance.now();
  const child = launchBwrap(req.launch);
  const out = { stdout: new CappedOutput(), stderr: new CappedOutput() };
  let timedOut = false;
  let aborted = false;

  const streams = { stdout: child.stdout!, stderr: child.stderr! };
  // Once the command is killed its output goes nowhere. The pipes must still be read to their
  // end: a pipe paused for a cancelled call's drain (which never comes) would never close, and
  // neither would the child, so stop/destroy waiting for this command would hang.
  let discarding = false;
  const discard = () => {
    discarding = true;
    streams.stdout.resume();
    streams.stderr.resume();
  };
  for (const name of ['stdout', 'stderr'] as const) {
    streams[name].on('data', (data: Buffer) => {
      if (discarding) return;
      if (!req.sink) return out[name].push(data);
      if (!req.sink.write(name, data)) {
        streams.stdout.pause();
        streams.stderr.pause();
        req.sink.onceDrain(() => {
          streams.stdout.resume();
          streams.stderr.resume();
        });
      }
    });
  }
  const audit = (child.stdio as unknown as (Readable | null | undefined)[])[AUDIT_FD];
  if (audit && req.onAudit) {
    audit.setEncoding('utf8');
    audit.on('data', req.onAudit);
    audit.on('error', () => {});
  }
  feedStdin(child.stdin!, req.stdin);

  const timer =
    req.timeoutMs && req.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          killSandboxTree(child, req.launch.sandboxDir);
          if (req.sink) discard();
        }, req.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    killSandboxTree(child, req.launch.sandboxDir);
    discard();
  };
  if (req.abort?.aborted) onAbort();
  else req.abort?.addEventListener('abort', onAbort, { once: true });

  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      req.abort?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code ?? 128 + signalNumber(signal),
        stdout: out.stdout.text(),
        stderr: out.stderr.text(),
        timedOut,
        aborted,
        durationMs: performance.now() - started,
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? ((constants.signals as Record<string, number>)[signal] ?? 0) : 0;
}
