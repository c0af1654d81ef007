/**
 * One interactive terminal: a bwrap running the terminal helper (ptyHelper.c, execute-only in
 * the sandbox), which runs the shell on a pseudo-terminal of the sandbox's own devpts. The
 * server only ever exchanges frames with it over stdin/stdout (terminalFrames.ts); the shell
 * never sees a descriptor of ours.
 */
import type { ChildProcess } from 'node:child_process';
import { posix } from 'node:path';
import { builtHelper } from './installedProgram';
import { launchBwrap, killSandboxTree, SCRIPT_PATH, type Launch } from './bwrapLauncher';
import { FrameError, HelperFrameReader, inputFrames, resizeFrame } from './terminalFrames';

/** Where the helper appears inside a terminal's sandbox. */
export const PTY_HELPER_IN_SANDBOX = '/run/agentfense/pty';

/** What a terminal tells its owner. `output` returning false pauses the shell's output until `resume()`. */
export interface TerminalListener {
  output(data: Buffer): boolean;
  /** The shell is back at its prompt after a line was entered (its commands may have written files). */
  prompt(): void;
  /** The terminal is gone: the shell ended, or it was closed or broke (`problem` says how). */
  ended(exitCode: number, problem?: string): void;
}

export class PtyTerminal {
  private readonly child: ChildProcess;
  private readonly reader = new HelperFrameReader();
  private exitCode: number | undefined;
  private problem: string | undefined;
  private ended = false;

  constructor(
    readonly id: string,
    private readonly launch: Launch,
    private readonly listener: TerminalListener,
  ) {
    this.child = launchBwrap(launch);
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.on('data', (d: Buffer) => this.onHelperData(d));
    // The helper's own complaints (it could not open a terminal, a shell that does not run)
    // and bwrap's: shown in the terminal, as a real terminal shows a failed start.
    this.child.stderr!.on('data', (d: Buffer) =>
      this.listener.output(Buffer.from(d.toString().replace(/\r?\n/g, '\r\n'))),
    );
    this.child.on('error', (err) => this.end(`the terminal could not start: ${err.message}`));
    this.child.on('close', (code, signal) => {
      if (this.exitCode === undefined && this.problem === undefined && code !== 0)
        this.problem = signal ? `the terminal was killed (${signal})` : `the terminal helper failed (exit ${code})`;
      this.end();
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Keystrokes or a paste. False: the shell is not keeping up; wait for `onceInputDrain`. */
  write(data: Buffer): boolean {
    if (this.ended) return true;
    let room = true;
    for (const f of inputFrames(data)) room = this.child.stdin!.write(f) && room;
    return room;
  }

  onceInputDrain(resume: () => void): void {
    if (this.ended) return resume();
    this.child.stdin!.once('drain', resume);
  }

  resize(rows: number, cols: number): void {
    if (!this.ended) this.child.stdin!.write(resizeFrame(rows, cols));
  }

  /** Resumes output paused by the listener. */
  resume(): void {
    this.child.stdout!.resume();
  }

  /** Hangs up: the shell and everything it started are killed. */
  close(): void {
    killSandboxTree(this.child, this.launch.sandboxDir);
  }

  private onHelperData(data: Buffer): void {
    let frames;
    try {
      frames = this.reader.push(data);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.problem = `the terminal helper sent ${err.message}`;
      return this.close();
    }
    for (const f of frames) {
      if (f.kind === 'output') {
        if (!this.listener.output(f.data)) this.child.stdout!.pause();
      } else if (f.kind === 'prompt') this.listener.prompt();
      else this.exitCode = f.exitCode;
    }
  }

  private end(problem?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.problem ??= problem;
    this.listener.ended(this.exitCode ?? 129, this.exitCode === undefined ? this.problem : undefined);
  }
}

/** The terminal helper (dist/agentfense-pty, next to dist/server.js); sessions (CreateSession) work without it. */
export const PTY_HELPER = builtHelper(
  'agentfense-pty',
  'src/server/sandbox/runtime/ptyHelper.c',
  'an interactive terminal (sessions work without it)',
);

/** bash's start-up file in a terminal: a prompt that says where the shell is. */
const BASH_RC = `PS1='\\[\\e[1;32m\\]sandbox\\[\\e[0m\\]:\\[\\e[1;34m\\]\\w\\[\\e[0m\\]\\$ '
alias ls='ls --color=auto' grep='grep --color=auto'
`;

/**
 * The helper's command line for `shell` at this size, and the script bwrap copies to
 * SCRIPT_PATH (bash's rc file; other shells get none).
 */
export function shellInvocation(shell: string, rows: number, cols: number): { program: string[]; script: string } {
  const size = [String(rows), String(cols)];
  if (posix.basename(shell) === 'bash')
    return { program: [PTY_HELPER_IN_SANDBOX, ...size, shell, '--rcfile', SCRIPT_PATH, '-i'], script: BASH_RC };
  return { program: [PTY_HELPER_IN_SANDBOX, ...size, shell, '-i'], script: '' };
}
