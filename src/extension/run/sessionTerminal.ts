/**
 * "Open Sandbox Terminal": an interactive shell in the sandbox. On the embedded server it is
 * a real pseudo-terminal (ptyShell.ts): keystrokes go straight to the shell, so Ctrl+C, job
 * control, vim, less and REPLs work and a resize reaches them. Against a server without
 * interactive terminals (AgentFense's own), it is a sandbox session: lines are edited
 * locally (lineEditor.ts) and each one runs with SessionExecStream, so `cd` and `export`
 * persist; the prompt shows the short sandbox id and the working directory.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { describeError, offerEnvironmentCheck } from '../server/errorReporting';
import { CommandStatus } from './commandStatus';
import { LineEditor } from './lineEditor';
import { DIM, RED, RESET, shortSandboxId, toTerminalNewlines, YELLOW } from './terminalText';
import { PtyShell, type TerminalDimensions } from './ptyShell';
import type { TerminalEnd } from '../../client';
import { shellQuote } from '../../shared/shellQuote';

const RESTART_HINT = 'Press Enter to start a new session, or close this terminal.';

export interface SessionTarget {
  folder: vscode.WorkspaceFolder;
  sandboxId?: string;
  codebaseId?: string;
}

export class SessionTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private readonly editor = new LineEditor();
  private sessionId: string | undefined;
  /**
   * On a cloud backend there are no sessions: each line is a run in this sandbox, and the
   * working directory (not variables) is carried from one line to the next.
   */
  private cloudSandboxId: string | undefined;
  private sandboxId: string | undefined;
  private cwd = '/workspace';
  private running: AbortController | undefined;
  private typeahead = '';
  private closed = false;
  private lastExit = 0;
  /**
   * The session is gone (it ended, or never started). Keys typed then are not commands for
   * anyone: only Enter does something (a new session); the terminal never closes on a key, so
   * typing meant for the sandbox cannot spill into whatever terminal gets the focus next.
   */
  private dead = false;
  /** The shell on a pseudo-terminal, when the server has them; otherwise `sessionId` is used. */
  private pty: PtyShell | undefined;
  private size: TerminalDimensions | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly target: SessionTarget,
  ) {}

  open(initialDimensions: vscode.TerminalDimensions | undefined): void {
    this.size = initialDimensions;
    void this.start();
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.size = dimensions;
    this.pty?.resize(dimensions);
  }

  private write(s: string): void {
    if (!this.closed) this.writeEmitter.fire(s);
  }

  private prompt(): string {
    const id = this.sandboxId ? shortSandboxId(this.sandboxId) : 'sandbox';
    const mark = this.lastExit === 0 ? '$' : `${RED}$${RESET}`;
    return `\x1b[1;32m${id}\x1b[0m:\x1b[1;34m${this.cwd}\x1b[0m${mark} `;
  }

  private async start(): Promise<void> {
    try {
      this.write(`${DIM}AgentFense: preparing the sandbox…${RESET}\r\n`);
      let sandboxId = this.target.sandboxId;
      if (!sandboxId) {
        const t = await this.ctx.provision(this.target.folder, undefined, {
          report: (m) => this.write(`${DIM}AgentFense: ${m}${RESET}\r\n`),
        });
        sandboxId = t.sandbox.id;
        this.write(`${DIM}[${t.preset} · sandbox ${sandboxId}] Ctrl+C interrupts, Ctrl+D closes.${RESET}\r\n`);
      }
      this.sandboxId = sandboxId;
      if (this.ctx.cloud) {
        this.cloudSandboxId = sandboxId;
        this.cwd = '~/workspace';
        this.write(`${DIM}Each line runs on its own: cd is kept between lines, variables are not.${RESET}\r\n`);
        return this.showPrompt();
      }
      if (await this.startPty(sandboxId)) return;
      const session = await this.ctx.connection.call((c) => c.createSession(sandboxId!, {}), { idempotent: false });
      this.sessionId = session.id;
      this.ctx.sandboxes.fireChanged();
      if (this.closed) return void this.destroy();
      this.showPrompt();
    } catch (e) {
      this.write(`${RED}AgentFense: ${toTerminalNewlines(describeError(e))}${RESET}\r\n${DIM}${RESTART_HINT}${RESET}`);
      this.dead = true;
      void offerEnvironmentCheck(e);
    }
  }

  /** True when the shell runs on a pseudo-terminal; false when the server has none. */
  private async startPty(sandboxId: string): Promise<boolean> {
    const folder = this.target.folder;
    const pty = await PtyShell.open((fn) => this.ctx.connection.call(fn, { idempotent: false }), sandboxId, this.size, {
      output: (text) => this.write(text),
      merged: (pathsMerged, notes) => {
        if (notes) this.write(`${YELLOW}${toTerminalNewlines(notes)}${RESET}`);
        this.ctx.codebaseMayHaveChanged(folder, pathsMerged);
      },
      ended: (end) => this.ptyEnded(end),
    });
    if (!pty) return false;
    if (this.closed || this.dead) {
      pty.close();
      return true;
    }
    this.pty = pty;
    this.ctx.sandboxes.fireChanged();
    // The size may have changed while it opened.
    if (this.size) pty.resize(this.size);
    const typed = this.typeahead;
    this.typeahead = '';
    if (typed) pty.input(typed);
    return true;
  }

  /** The shell exited (`exit`, Ctrl+D): the terminal closes, as any terminal does. A failure is told. */
  private ptyEnded(end: TerminalEnd): void {
    this.pty = undefined;
    this.ctx.codebaseMayHaveChanged(this.target.folder);
    if (this.closed) return;
    if ('exitCode' in end) {
      this.closed = true;
      this.closeEmitter.fire(end.exitCode);
      return;
    }
    this.write(`\r\n${RED}AgentFense: ${toTerminalNewlines(describeError(end.error))}${RESET}\r\n`);
    this.sessionEnded();
  }

  private showPrompt(): void {
    this.editor.setPrompt(this.prompt());
    this.write(this.editor.promptText());
    const pending = this.editor.takePending() + this.typeahead;
    this.typeahead = '';
    if (pending) this.handleInput(pending);
  }

  handleInput(data: string): void {
    if (this.closed) return;
    if (this.dead) {
      if (data.includes('\r')) this.restart();
      return;
    }
    if (this.pty) return this.pty.input(data);
    if (!this.sessionId && !this.cloudSandboxId) {
      this.typeahead += data; // still starting
      return;
    }
    if (this.running) {
      if (data.includes('\x03')) {
        this.write('^C');
        this.running.abort(new vscode.CancellationError());
      } else {
        this.typeahead += data; // typed while a command runs: replayed at the next prompt
      }
      return;
    }
    const { output, events } = this.editor.feed(data);
    if (output) this.write(output);
    for (const ev of events) {
      if (ev.kind === 'eof') return this.finish(0);
      if (ev.kind === 'interrupt') {
        this.lastExit = 130;
        this.showPrompt();
      }
      if (ev.kind === 'submit') {
        if (ev.line.trim() === '') this.showPrompt();
        else void this.runLine(ev.line);
        return;
      }
    }
  }

  private async runLine(line: string): Promise<void> {
    if (/^\s*exit(\s+\d+)?\s*$/.test(line)) return this.finish(0);
    if (this.ctx.cloud && this.cloudSandboxId) return this.runCloudLine(this.ctx.cloud, this.cloudSandboxId, line);
    const abort = new AbortController();
    this.running = abort;
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    let endedWithNewline = true;
    let pathsMerged: number | undefined;
    const out = (s: string) => {
      if (!s) return;
      endedWithNewline = s.endsWith('\n');
      this.write(toTerminalNewlines(s));
    };
    try {
      const { stream, status } = await this.ctx.connection.call(
        async (c) => {
          const status = new CommandStatus(this.ctx.connection.serverTrust.sendsStatus, 'session');
          const stream = c.sessionExecStream(this.sessionId!, status.commandFor(line), {
            signal: abort.signal,
            timeoutMs: this.ctx.config.defaultTimeoutMs,
          });
          return { stream, status };
        },
        { idempotent: false },
      );
      for await (const chunk of stream) {
        let text = decoders[chunk.stream].decode(chunk.data, { stream: true });
        if (chunk.stream === 'stderr') text = status.stderr(text);
        out(text);
      }
      const { rest, end } = status.end(stream);
      this.ctx.connection.serverTrust.learnFrom(stream);
      out(rest + decoders.stdout.decode() + decoders.stderr.decode());
      this.lastExit = end.exitCode ?? 0;
      pathsMerged = stream.pathsMerged;
      if (end.cwd) this.cwd = end.cwd;
    } catch (e) {
      if (abort.signal.aborted) {
        this.lastExit = 130;
      } else {
        this.write(`\r\n${RED}AgentFense: ${toTerminalNewlines(describeError(e))}${RESET}\r\n`);
        this.lastExit = 1;
        if ((e as Error).name === 'SessionClosedError' || (e as Error).name === 'SessionNotFoundError') {
          this.sessionEnded();
          return;
        }
      }
    }
    this.running = undefined;
    if (!endedWithNewline) this.write(`${DIM}⏎${RESET}\r\n`);
    if (abort.signal.aborted) this.write('\r\n');
    this.ctx.codebaseMayHaveChanged(this.target.folder, pathsMerged);
    if (!this.closed) this.showPrompt();
  }

  /** One line as one cloud run, in the directory the last line ended in; the new one comes back after a marker. */
  private async runCloudLine(cloud: NonNullable<Ctx['cloud']>, sandboxId: string, line: string): Promise<void> {
    const abort = new AbortController();
    this.running = abort;
    let endedWithNewline = true;
    let marker: string | undefined;
    const cd = this.cwd.startsWith('/') ? `cd -- ${shellQuote(this.cwd)} && ` : '';
    const command = `${cd}{ ${line}\n}; __af_status=$?; printf '\\036%s' "$PWD" >&2; exit $__af_status`;
    try {
      const r = await cloud.exec(sandboxId, command, {
        signal: abort.signal,
        timeoutMs: this.ctx.config.defaultTimeoutMs,
        onOutput: (stream, text) => {
          if (stream === 'stderr' && marker === undefined && text.includes('\x1e')) {
            marker = text.slice(text.indexOf('\x1e') + 1);
            text = text.slice(0, text.indexOf('\x1e'));
          } else if (stream === 'stderr' && marker !== undefined && !text.startsWith('not merged: ')) {
            marker += text;
            return;
          }
          if (!text) return;
          endedWithNewline = text.endsWith('\n');
          this.write(toTerminalNewlines(text));
        },
      });
      this.lastExit = r.exitCode;
      if (marker) this.cwd = marker.split('\n')[0];
      this.ctx.codebaseMayHaveChanged(this.target.folder, r.pathsMerged);
    } catch (e) {
      this.lastExit = abort.signal.aborted ? 130 : 1;
      if (!abort.signal.aborted)
        this.write(`\r\n${RED}AgentFense: ${toTerminalNewlines(describeError(e))}${RESET}\r\n`);
    }
    this.running = undefined;
    if (!endedWithNewline) this.write(`${DIM}⏎${RESET}\r\n`);
    if (!this.closed) this.showPrompt();
  }

  /** The server closed the session: say so here and in a notification, and wait for Enter. */
  private sessionEnded(): void {
    this.write(`${RED}The sandbox session ended.${RESET} ${DIM}${RESTART_HINT}${RESET}`);
    this.sessionId = undefined;
    this.running = undefined;
    this.typeahead = '';
    this.dead = true;
    void vscode.window
      .showWarningMessage(`AgentFense: the sandbox session in "${this.target.folder.name}" ended.`, 'Start New Session')
      .then((choice) => {
        if (choice && this.dead && !this.closed) this.restart();
      });
  }

  private restart(): void {
    this.dead = false;
    this.write('\r\n');
    void this.start();
  }

  /** Ctrl+D or `exit`: end the session and close the terminal. */
  private finish(code: number): void {
    void this.destroy();
    this.closed = true;
    this.closeEmitter.fire(code);
  }

  /** The user closed the terminal tab. */
  close(): void {
    this.closed = true;
    void this.destroy();
  }

  private async destroy(): Promise<void> {
    this.pty?.close();
    this.pty = undefined;
    this.running?.abort(new vscode.CancellationError());
    const id = this.sessionId;
    this.sessionId = undefined;
    if (id) {
      // Kills the session's process tree on the server.
      await this.ctx.connection.call((c) => c.destroySession(id)).catch(() => undefined);
      this.ctx.sandboxes.fireChanged();
    }
  }
}

export function openSessionTerminal(ctx: Ctx, target: SessionTarget): vscode.Terminal {
  const pty = new SessionTerminal(ctx, target);
  const terminal = vscode.window.createTerminal({
    name: `AgentFense: ${target.folder.name} shell`,
    pty,
    iconPath: new vscode.ThemeIcon('shield'),
  });
  terminal.show();
  return terminal;
}

/** "Open Sandbox Terminal": on the sandbox the Sandboxes view passes, or on the folder's. */
export async function openTerminal(
  ctx: Ctx,
  arg?: { sandboxId?: string; codebaseId?: string; folder?: vscode.WorkspaceFolder },
): Promise<void> {
  const folder = arg?.folder ?? (await ctx.pickFolder('Workspace folder for the sandbox terminal'));
  if (!folder) return;
  openSessionTerminal(ctx, { folder, sandboxId: arg?.sandboxId, codebaseId: arg?.codebaseId });
}
