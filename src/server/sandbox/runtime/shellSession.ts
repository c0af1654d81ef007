/**
 * A session: one long-lived bwrap running a supervisor (sessionSupervisor.ts) that runs each
 * command in a fresh child of the session's shell, fed one command at a time on stdin. When
 * the child ends, the supervisor prints an end marker with a random nonce on stdout and on
 * stderr, and the kernel's exit status on a descriptor no command holds; output up to the
 * markers is the command's. Commands are serialized; the working directory and exported
 * variables persist (as data, see SessionState). A timeout, or an abort (a cancelled call),
 * kills the command's processes but not the supervisor.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { OneAtATime } from '../oneAtATime';
import { launchBwrap, killSandboxTree, type Launch } from './bwrapLauncher';
import { CappedOutput, type OutputSink, type RunOutcome, type StreamName } from './commandRunner';
import { descendantsOf, killQuietly } from './processTree';
import { MAX_ARG_BYTES } from './bwrapArgs';
import { invalidArgument } from '../../rpc/rpcError';
import {
  commandScript,
  encodeForSupervisor,
  parseSavedState,
  SESSION_STATUS_FD,
  type SessionState,
} from './sessionSupervisor';

/** A session command ends like a one-shot command (`aborted`: cancelled while queued or running). */
export interface SessionCommandOutcome extends RunOutcome {
  /** The session's working directory after the command. */
  cwd: string;
}

const RS = '\x1e';
/** After a timeout kill, how long the supervisor gets to report the command's end. */
const MARKER_GRACE_MS = 3000;
/** A status line longer than this is not the supervisor's (it caps the state it sends). */
const MAX_STATUS_LINE = 4 * 1024 * 1024;

interface PendingCommand {
  nonce: string;
  marker: Buffer;
  collected: Record<StreamName, CappedOutput>;
  held: Record<StreamName, Buffer>;
  done: Record<StreamName | 'status', boolean>;
  exitCode?: number;
  sink?: OutputSink;
  finish: () => void;
}

export class ShellSession {
  readonly createdAt = new Date();
  closedAt?: Date;
  private readonly child: ChildProcess;
  private readonly sandboxDir: string;
  private readonly commands = new OneAtATime();
  private pending?: PendingCommand;
  private readonly closeListeners: (() => void)[] = [];
  private statusBuffer = Buffer.alloc(0);

  /**
   * `launch` runs the supervisor with a status pipe; `stateFile` is where, inside the
   * sandbox, each command's shell saves its state; `state` is the first command's.
   */
  constructor(
    readonly id: string,
    readonly sandboxId: string,
    readonly shell: string,
    launch: Launch,
    private readonly stateFile: string,
    private state: SessionState,
  ) {
    this.sandboxDir = launch.sandboxDir;
    this.child = launchBwrap({ ...launch, statusPipe: true });
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.on('data', (d: Buffer) => this.onOutput('stdout', d));
    this.child.stderr!.on('data', (d: Buffer) => this.onOutput('stderr', d));
    const status = this.child.stdio[SESSION_STATUS_FD] as Readable;
    status.on('data', (d: Buffer) => this.onStatus(d));
    status.on('error', () => {});
    this.child.on('error', () => this.markClosed());
    this.child.on('close', () => this.markClosed());
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Runs `command` after the ones queued before it. Aborting interrupts this command only
   * (a queued one never starts); once it has finished, aborting does nothing.
   */
  exec(
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome> {
    return this.commands.run(() => this.runNow(command, timeoutMs, sink, abort));
  }

  /** Kills the shell and everything it started. */
  close(): void {
    killSandboxTree(this.child, this.sandboxDir);
    // A shell that outlived the kill (see killBwrapsMentioning) reads EOF and exits.
    this.child.stdin!.destroy();
    this.markClosed();
  }

  private runNow(
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome> {
    const started = performance.now();
    if (abort?.aborted) {
      return Promise.resolve({
        exitCode: 130,
        stdout: '',
        stderr: '',
        timedOut: false,
        aborted: true,
        durationMs: 0,
        cwd: this.state.cwd,
      });
    }
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let aborted = false;
      let timer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      /** Kills the command's processes; if the supervisor does not report, the session ends. */
      const interrupt = () => {
        this.killCommandProcesses();
        grace ??= setTimeout(() => this.close(), MARKER_GRACE_MS);
      };
      const onAbort = () => {
        if (this.pending?.nonce !== nonce) return; // already finished
        aborted = true;
        // Nobody reads a cancelled stream: its 'drain' never comes, so stop writing to it and
        // un-pause the supervisor's pipes, or the end marker would never be read.
        this.pending.sink = undefined;
        this.child.stdout!.resume();
        this.child.stderr!.resume();
        interrupt();
      };
      const finish = () => {
        clearTimeout(timer);
        clearTimeout(grace);
        abort?.removeEventListener('abort', onAbort);
        const p = this.pending!;
        this.pending = undefined;
        this.flushHeld(p);
        resolve({
          exitCode: p.exitCode ?? this.child.exitCode ?? 137,
          stdout: p.collected.stdout.text(),
          stderr: p.collected.stderr.text(),
          timedOut,
          aborted,
          durationMs: performance.now() - started,
          cwd: this.state.cwd,
        });
      };
      const script = Buffer.from(commandScript(this.state, this.stateFile, command));
      if (script.length > MAX_ARG_BYTES) {
        return reject(
          invalidArgument(
            `the session command and the session's exported variables are ${script.length} bytes; the limit is ${MAX_ARG_BYTES} bytes ` +
              "(Linux's limit on one argument; the command is its shell's -c argument). Put a long script in a file and run it.",
          ),
        );
      }
      const nonce = randomBytes(12).toString('hex');
      this.pending = {
        nonce,
        marker: Buffer.from(`${RS}AFEND-${nonce}${RS}`),
        collected: { stdout: new CappedOutput(), stderr: new CappedOutput() },
        held: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
        done: { stdout: false, stderr: false, status: false },
        sink,
        finish,
      };
      if (this.closed) return finish();
      if (timeoutMs && timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          interrupt();
        }, timeoutMs);
      }
      abort?.addEventListener('abort', onAbort, { once: true });
      this.child.stdin!.write(`${nonce} ${encodeForSupervisor(script)}\n`);
    });
  }

  /**
   * Everything in the sandbox's pid namespace except its init and the supervisor: the
   * command's shell, and whatever it double-forked or setsid'd (those reparent to the init).
   */
  private killCommandProcesses(): void {
    if (this.child.pid === undefined) return;
    const tree = descendantsOf(this.child.pid);
    const init = tree[0];
    const supervisor = descendantsOf(init ?? -1)[0];
    for (const pid of tree) if (pid !== init && pid !== supervisor) killQuietly(pid);
  }

  private onOutput(stream: StreamName, data: Buffer): void {
    const p = this.pending;
    if (!p || p.done[stream]) return; // output outside a command (e.g. after a timeout) is dropped
    let buf = Buffer.concat([p.held[stream], data]);
    const markerAt = buf.indexOf(p.marker);
    if (markerAt >= 0) {
      this.emit(p, stream, buf.subarray(0, markerAt));
      p.held[stream] = Buffer.alloc(0);
      p.done[stream] = true;
      this.finishIfDone(p);
      return;
    }
    // Hold back a tail that could be the start of a marker split across reads.
    const lastRs = buf.lastIndexOf(RS.charCodeAt(0));
    const keepFrom = lastRs >= 0 && buf.length - lastRs < 64 ? lastRs : buf.length;
    this.emit(p, stream, buf.subarray(0, keepFrom));
    buf = buf.subarray(keepFrom);
    p.held[stream] = Buffer.from(buf);
  }

  /** `<nonce> <exit status> <base64 saved state>` lines, from the supervisor alone. */
  private onStatus(data: Buffer): void {
    this.statusBuffer = Buffer.concat([this.statusBuffer, data]);
    let nl: number;
    while ((nl = this.statusBuffer.indexOf(0x0a)) >= 0) {
      const line = this.statusBuffer.subarray(0, nl).toString('latin1');
      this.statusBuffer = this.statusBuffer.subarray(nl + 1);
      const [nonce, code, saved = ''] = line.split(' ');
      const p = this.pending;
      if (!p || nonce !== p.nonce || !/^\d+$/.test(code ?? '')) continue;
      p.exitCode = Number(code);
      this.state = parseSavedState(Buffer.from(saved, 'base64'), this.state);
      p.done.status = true;
      this.finishIfDone(p);
    }
    if (this.statusBuffer.length > MAX_STATUS_LINE) this.close();
  }

  private finishIfDone(p: PendingCommand): void {
    if (p.done.stdout && p.done.stderr && p.done.status) p.finish();
  }

  private flushHeld(p: PendingCommand): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (p.held[s].length) this.emit(p, s, p.held[s]);
      p.held[s] = Buffer.alloc(0);
    }
  }

  private emit(p: PendingCommand, stream: StreamName, data: Buffer): void {
    if (data.length === 0) return;
    if (!p.sink) return p.collected[stream].push(data);
    if (!p.sink.write(stream, data)) {
      this.child.stdout!.pause();
      this.child.stderr!.pause();
      p.sink.onceDrain(() => {
        this.child.stdout!.resume();
        this.child.stderr!.resume();
      });
    }
  }

  private markClosed(): void {
    if (this.closedAt) return;
    this.closedAt = new Date();
    this.pending?.finish();
    for (const l of this.closeListeners) l();
  }
}
