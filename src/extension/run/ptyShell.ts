/**
 * The sandbox terminal's shell on a real pseudo-terminal (the embedded server's
 * OpenTerminal): keystrokes go in as they are typed, so Ctrl+C, job control, vim, less and
 * REPLs behave as in any terminal, and a resize reaches the shell. `open` tells whether the
 * server has it; AgentFense's own server has not, and the terminal falls back to a
 * line-edited session.
 */
import { TerminalUnsupportedError, type InteractiveTerminal, type SandboxClient, type TerminalEnd } from '../../client';

export interface PtyShellEvents {
  output(text: string): void;
  /** The shell's commands changed the codebase (`notes`: what the merge refused). */
  merged(pathsMerged: number, notes: string): void;
  /** The shell exited, or the terminal broke (the sandbox stopped, the server went away). */
  ended(end: TerminalEnd): void;
}

export interface TerminalDimensions {
  rows: number;
  columns: number;
}

export class PtyShell {
  private constructor(private readonly terminal: InteractiveTerminal) {}

  /**
   * Opens the terminal; undefined when the server has no interactive terminals. Resolves
   * once the shell printed something (its prompt) or the terminal ended.
   */
  static async open(
    call: (fn: (client: SandboxClient) => Promise<InteractiveTerminal>) => Promise<InteractiveTerminal>,
    sandboxId: string,
    size: TerminalDimensions | undefined,
    events: PtyShellEvents,
  ): Promise<PtyShell | undefined> {
    const terminal = await call(async (c) =>
      c.openTerminal(sandboxId, size ? { rows: size.rows, cols: size.columns } : {}),
    );
    const decoder = new TextDecoder();
    terminal.onOutput((bytes) => events.output(decoder.decode(bytes, { stream: true })));
    terminal.onMerged((m) => events.merged(m.pathsMerged, m.notes));
    const first = await new Promise<'output' | TerminalEnd>((resolve) => {
      terminal.onOutput(() => resolve('output'));
      void terminal.end.then(resolve);
    });
    if (first !== 'output' && 'error' in first && first.error instanceof TerminalUnsupportedError) return undefined;
    void terminal.end.then((end) => {
      const rest = decoder.decode();
      if (rest) events.output(rest);
      events.ended(end);
    });
    const shell = new PtyShell(terminal);
    return shell;
  }

  input(data: string): void {
    this.terminal.write(data);
  }

  resize(size: TerminalDimensions): void {
    this.terminal.resize(size.rows, size.columns);
  }

  /** Hangs up: the shell and its jobs are killed. */
  close(): void {
    this.terminal.close();
  }
}
