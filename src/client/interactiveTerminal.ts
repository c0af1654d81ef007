/**
 * An interactive terminal in a sandbox (TerminalService.OpenTerminal, served by the embedded
 * server only): a real pseudo-terminal, so Ctrl+C reaches the foreground job, job control
 * and full-screen programs work, and a resize reaches them as SIGWINCH. Keystrokes go in as
 * bytes; what the terminal prints comes out as bytes (decode them as a stream: a character
 * may be split across chunks).
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Emitter } from '../core/events';
import type { TerminalInput, TerminalOutput } from '../generated/terminal';
import { toAgentFenseError, type CallContext } from './errors';

export interface TerminalOptions {
  /** Absolute path of the shell in the sandbox; default /bin/bash. */
  shell?: string;
  rows?: number;
  cols?: number;
  env?: Record<string, string>;
  /** Relative to /workspace, or absolute under it. */
  workdir?: string;
}

/** How the terminal ended: the shell's exit code, or the failure that ended it. */
export type TerminalEnd = { exitCode: number } | { error: Error };

const NO_INPUT: TerminalInput = { open: undefined, input: undefined, resize: undefined };

export class InteractiveTerminal {
  private readonly outputEmitter = new Emitter<Uint8Array>();
  private readonly mergedEmitter = new Emitter<{ pathsMerged: number; notes: string }>();
  private ended = false;
  private settle!: (e: TerminalEnd) => void;
  /** Everything the terminal printed, as it comes. */
  readonly onOutput = this.outputEmitter.event;
  /** The sandbox's changes were merged into the codebase (the shell came back to its prompt, or ended). */
  readonly onMerged = this.mergedEmitter.event;
  /** Settles once: the shell exited, or the call failed (a hang-up by close() is `{ exitCode: 129 }`). */
  readonly end: Promise<TerminalEnd>;

  constructor(
    private readonly call: ClientDuplexStream<TerminalInput, TerminalOutput>,
    sandboxId: string,
    options: TerminalOptions,
    ctx: CallContext,
  ) {
    this.end = new Promise((resolve) => {
      let exitCode: number | undefined;
      const settle = (this.settle = (e: TerminalEnd) => {
        if (this.ended) return;
        this.ended = true;
        resolve(e);
        this.outputEmitter.dispose();
        this.mergedEmitter.dispose();
      });
      call.on('data', (m: TerminalOutput) => {
        if (m.output) this.outputEmitter.fire(m.output);
        else if (m.merged) this.mergedEmitter.fire({ pathsMerged: m.merged.pathsMerged, notes: m.merged.notes });
        else if (m.exited) exitCode = m.exited.exitCode;
      });
      call.on('error', (err) => settle({ error: toAgentFenseError(err, ctx) }));
      call.on('end', () => settle({ exitCode: exitCode ?? 129 }));
    });
    call.write({
      ...NO_INPUT,
      open: {
        sandboxId,
        shell: options.shell ?? '',
        rows: options.rows ?? 0,
        cols: options.cols ?? 0,
        env: options.env ?? {},
        workdir: options.workdir ?? '',
      },
    });
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Keystrokes or a paste, as the terminal's input. */
  write(data: string | Uint8Array): void {
    if (this.ended) return;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    // At most 64 KiB per message (the server splits nothing larger than it must).
    for (let at = 0; at < bytes.length; at += 65536)
      this.call.write({ ...NO_INPUT, input: bytes.subarray(at, at + 65536) });
  }

  resize(rows: number, cols: number): void {
    if (this.ended) return;
    this.call.write({ ...NO_INPUT, resize: { rows, cols } });
  }

  /** Hangs up: the shell and everything it started are killed; `end` settles. */
  close(): void {
    if (this.ended) return;
    this.settle({ exitCode: 129 });
    this.call.end();
    this.call.cancel();
  }
}
