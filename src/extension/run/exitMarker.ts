/**
 * ExecStream carries only output, not the exit code (ExecOutput has type and data). To show
 * `[exit N]` and give tasks their exit code, the command is wrapped so the shell prints a
 * marker with `$?` (and, for sessions, the working directory) on stderr as its last output,
 * and this parser takes the marker back out of the stream. vscode-free.
 */
import { randomBytes } from 'node:crypto';

const SEP = '\x1e'; // ASCII record separator: never in normal terminal output

export function newNonce(): string {
  return 'AFX' + randomBytes(6).toString('hex');
}

/**
 * One-shot command: run in a subshell so `exit 3` reports 3 instead of killing the marker.
 * The newline before `)` ends a trailing comment or heredoc in the user's command.
 */
export function wrapCommand(command: string, nonce: string): string {
  return `(\n${command}\n)\nprintf '${SEP}${nonce}:%d${SEP}' "$?" >&2`;
}

/** Session command: a brace group so `cd`/`export` persist in the session's shell. */
export function wrapSessionCommand(command: string, nonce: string): string {
  return `{\n${command}\n}\nprintf '${SEP}${nonce}:%d:%s${SEP}' "$?" "$PWD" >&2`;
}

export interface ExitMarker {
  exitCode: number;
  cwd?: string;
}

/** Filters the stderr text of a wrapped command; holds back bytes that may start the marker. */
export class ExitMarkerParser {
  private held = '';
  marker: ExitMarker | undefined;

  constructor(private readonly nonce: string) {}

  /** Returns the text to show now. */
  push(text: string): string {
    let s = this.held + text;
    this.held = '';
    const start = `${SEP}${this.nonce}:`;
    for (;;) {
      const at = s.indexOf(start);
      if (at < 0) break;
      const end = s.indexOf(SEP, at + start.length);
      if (end < 0) {
        this.held = s.slice(at);
        return s.slice(0, at);
      }
      const body = s.slice(at + start.length, end);
      const colon = body.indexOf(':');
      const code = Number.parseInt(colon < 0 ? body : body.slice(0, colon), 10);
      this.marker = { exitCode: Number.isNaN(code) ? -1 : code, cwd: colon < 0 ? undefined : body.slice(colon + 1) };
      s = s.slice(0, at) + s.slice(end + 1);
    }
    // A chunk may end in the middle of the marker's start: hold back that suffix.
    for (let k = Math.min(start.length - 1, s.length); k > 0; k--) {
      if (start.startsWith(s.slice(s.length - k))) {
        this.held = s.slice(s.length - k);
        return s.slice(0, s.length - k);
      }
    }
    return s;
  }

  /** The stream ended: whatever was held back was not a marker after all. */
  end(): string {
    const h = this.held;
    this.held = '';
    return h;
  }
}
