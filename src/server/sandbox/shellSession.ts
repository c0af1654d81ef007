/**
 * A session: one long-lived bwrap running a shell, fed one command at a time on stdin. Each
 * command is wrapped so that, when it ends, the shell prints an end marker with a random
 * nonce on stdout (with the exit code) and on stderr; output up to the markers is the
 * command's. Commands are serialized; `cd` and `export` persist because the same shell runs
 * them all. A timeout, or an abort (a cancelled stream), kills the command's processes but
 * not the shell.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { launchBwrap, killSandboxTree, type Launch } from './bwrapLauncher';
import { CappedOutput, type OutputSink, type RunOutcome, type StreamName } from './commandRunner';
import { descendantsOf, killQuietly } from './processTree';

/** A session command ends like a one-shot command (`aborted`: cancelled while queued or running). */
export type SessionCommandOutcome = RunOutcome;

const RS = '\x1e';
/** After a timeout kill, how long the shell gets to print its end marker. */
const MARKER_GRACE_MS = 3000;

interface PendingCommand {
  nonce: string;
  stdoutMarker: RegExp;
  stderrMarker: Buffer;
  collected: Record<StreamName, CappedOutput>;
  held: Record<StreamName, Buffer>;
  done: Record<StreamName, boolean>;
  exitCode?: number;
  sink?: OutputSink;
  finish: () => void;
}

export class ShellSession {
  readonly createdAt = new Date();
  closedAt?: Date;
  private readonly child: ChildProcess;
  private readonly sandboxDir: string;
  private queue: Promise<unknown> = Promise.resolve();
  private pending?: PendingCommand;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly sandboxId: string,
    readonly shell: string,
    launch: Launch,
  ) {
    this.sandboxDir = launch.sandboxDir;
    this.child = launchBwrap(launch);
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.on('data', (d: Buffer) => this.onOutput('stdout', d));
    this.child.stderr!.on('data', (d: Buffer) => this.onOutput('stderr', d));
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
  exec(command: string, timeoutMs: number | undefined, sink?: OutputSink, abort?: AbortSignal): Promise<SessionCommandOutcome> {
    const run = this.queue.then(() => this.runNow(command, timeoutMs, sink, abort));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Kills the shell and everything it started. */
  close(): void {
    killSandboxTree(this.child, this.sandboxDir);
    // A shell that outlived the kill (see killBwrapsMentioning) reads EOF and exits.
    this.child.stdin!.destroy();
    this.markClosed();
  }

  private runNow(command: string, timeoutMs: number | undefined, sink?: OutputSink, abort?: AbortSignal): Promise<SessionCommandOutcome> {
    const started = performance.now();
    if (abort?.aborted) {
      return Promise.resolve({ exitCode: 130, stdout: '', stderr: '', timedOut: false, aborted: true, durationMs: 0 });
    }
    return new Promise((resolve) => {
      let timedOut = false;
      let aborted = false;
      let timer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      /**
       * Kills the command's processes. A command that runs inside the shell itself (a builtin
       * loop) cannot be killed apart from the shell: if no end marker comes, the session ends.
       */
      const interrupt = () => {
        this.killCommandProcesses();
        grace ??= setTimeout(() => this.close(), MARKER_GRACE_MS);
      };
      const onAbort = () => {
        if (this.pending?.nonce !== nonce) return; // already finished
        aborted = true;
        // Nobody reads a cancelled stream: its 'drain' never comes, so stop writing to it and
        // un-pause the shell's pipes, or the end marker would never be read.
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
          exitCode: p.exitCode ?? (this.child.exitCode ?? 137),
          stdout: p.collected.stdout.text(),
          stderr: p.collected.stderr.text(),
          timedOut,
          aborted,
          durationMs: performance.now() - started,
        });
      };
      const nonce = randomBytes(12).toString('hex');
      this.pending = {
        nonce,
        stdoutMarker: new RegExp(`${RS}AFEND-${nonce}-(\\d+)${RS}`),
        stderrMarker: Buffer.from(`${RS}AFEND-${nonce}${RS}`),
        collected: { stdout: new CappedOutput(), stderr: new CappedOutput() },
        held: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
        done: { stdout: false, stderr: false },
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
      this.child.stdin!.write(
        `{ ${command}\n} </dev/null; __af=$?; printf '${RS}AFEND-${nonce}-%d${RS}' $__af; printf '${RS}AFEND-${nonce}${RS}' >&2\n`,
      );
    });
  }

  /**
   * Everything in the sandbox's pid namespace except its init and the shell: the command's
   * children, and whatever they double-forked or setsid'd (those reparent to the init).
   */
  private killCommandProcesses(): void {
    if (this.child.pid === undefined) return;
    const tree = descendantsOf(this.child.pid);
    const init = tree[0];
    const shell = descendantsOf(init ?? -1)[0];
    for (const pid of tree) if (pid !== init && pid !== shell) killQuietly(pid);
  }

  private onOutput(stream: StreamName, data: Buffer): void {
    const p = this.pending;
    if (!p || p.done[stream]) return; // output outside a command (e.g. after a timeout) is dropped
    let buf = Buffer.concat([p.held[stream], data]);
    let markerAt = -1;
    let markerLen = 0;
    if (stream === 'stdout') {
      const m = p.stdoutMarker.exec(buf.toString('latin1'));
      if (m) {
        markerAt = m.index;
        markerLen = m[0].length;
        p.exitCode = Number(m[1]);
      }
    } else {
      markerAt = buf.indexOf(p.stderrMarker);
      markerLen = p.stderrMarker.length;
    }
    if (markerAt >= 0) {
      this.emit(p, stream, buf.subarray(0, markerAt));
      p.held[stream] = Buffer.alloc(0);
      p.done[stream] = true;
      void markerLen;
      if (p.done.stdout && p.done.stderr) p.finish();
      return;
    }
    // Hold back a tail that could be the start of a marker split across reads.
    const lastRs = buf.lastIndexOf(RS.charCodeAt(0));
    const keepFrom = lastRs >= 0 && buf.length - lastRs < 64 ? lastRs : buf.length;
    this.emit(p, stream, buf.subarray(0, keepFrom));
    buf = buf.subarray(keepFrom);
    p.held[stream] = Buffer.from(buf);
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
