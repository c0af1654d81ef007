/**
 * The line editor of the interactive sandbox terminal: turns the raw keystrokes a
 * Pseudoterminal receives into edits of one input line, and tells the terminal what to draw.
 * vscode-free and side-effect-free so every key can be unit-tested.
 */

export type LineEditorEvent = { kind: 'submit'; line: string } | { kind: 'interrupt' } | { kind: 'eof' };

export interface KeyResult {
  /** Bytes to write to the terminal (ANSI), in order. */
  output: string;
  events: LineEditorEvent[];
}

const HISTORY_LIMIT = 200;

export class LineEditor {
  private chars: string[] = [];
  private cursor = 0;
  private readonly history: string[] = [];
  /** Index into history while browsing with up/down; history.length = the line being typed. */
  private historyPos = 0;
  private draft: string[] = [];

  constructor(private prompt = '') {}

  get line(): string {
    return this.chars.join('');
  }

  get cursorPosition(): number {
    return this.cursor;
  }

  get historyEntries(): readonly string[] {
    return this.history;
  }

  setPrompt(prompt: string): void {
    this.prompt = prompt;
  }

  /** Draws a fresh prompt with an empty line (after a command finished). */
  promptText(): string {
    this.chars = [];
    this.cursor = 0;
    this.historyPos = this.history.length;
    return this.prompt;
  }

  /** Feeds raw input (may hold several keys, or pasted text) and returns what to draw. */
  feed(data: string): KeyResult {
    let output = '';
    const events: LineEditorEvent[] = [];
    let i = 0;
    while (i < data.length) {
      const rest = data.slice(i);
      const esc = matchEscape(rest);
      if (esc) {
        output += this.applyKey(esc.key, events);
        i += esc.length;
        continue;
      }
      const ch = data[i];
      i += 1;
      switch (ch) {
        case '\r':
        case '\n': {
          if (ch === '\r' && data[i] === '\n') i += 1; // \r\n counts once
          const line = this.line;
          if (line.trim() !== '' && this.history[this.history.length - 1] !== line) {
            this.history.push(line);
            if (this.history.length > HISTORY_LIMIT) this.history.shift();
          }
          this.historyPos = this.history.length;
          this.chars = [];
          this.cursor = 0;
          output += '\r\n';
          events.push({ kind: 'submit', line });
          // Whatever follows a submitted line belongs to the next prompt; the terminal
          // re-feeds it after the command (paste of several lines).
          if (i < data.length) {
            const remaining = data.slice(i);
            this.pending = remaining;
            return { output, events };
          }
          break;
        }
        case '\x7f':
        case '\b':
          output += this.applyKey('backspace', events);
          break;
        case '\x03':
          output += this.applyKey('ctrl-c', events);
          break;
        case '\x04':
          output += this.applyKey('ctrl-d', events);
          break;
        case '\x01':
          output += this.applyKey('home', events);
          break;
        case '\x05':
          output += this.applyKey('end', events);
          break;
        case '\x15': // Ctrl+U: clear the line, as in readline
          output += this.replaceLine([]);
          break;
        case '\x0c': // Ctrl+L: clear the screen and redraw
          output += '\x1b[2J\x1b[H' + this.prompt + this.line + moveLeft(this.chars.length - this.cursor);
          break;
        default:
          if (ch < ' ' && ch !== '\t') break; // other control bytes are ignored
          output += this.insert(ch === '\t' ? '  ' : ch);
      }
    }
    return { output, events };
  }

  /** Input that arrived after a submitted line, to feed once the next prompt is drawn. */
  pending = '';

  takePending(): string {
    const p = this.pending;
    this.pending = '';
    return p;
  }

  private insert(text: string): string {
    const add = [...text];
    const tail = this.chars.slice(this.cursor);
    this.chars.splice(this.cursor, 0, ...add);
    this.cursor += add.length;
    return text + tail.join('') + moveLeft(tail.length);
  }

  private replaceLine(chars: string[]): string {
    const back = moveLeft(this.cursor);
    this.chars = chars;
    this.cursor = chars.length;
    return back + '\x1b[K' + chars.join('');
  }

  private applyKey(key: Key, events: LineEditorEvent[]): string {
    switch (key) {
      case 'ignore':
        return '';
      case 'left':
        if (this.cursor === 0) return '';
        this.cursor -= 1;
        return '\x1b[D';
      case 'right':
        if (this.cursor === this.chars.length) return '';
        this.cursor += 1;
        return '\x1b[C';
      case 'home': {
        const out = moveLeft(this.cursor);
        this.cursor = 0;
        return out;
      }
      case 'end': {
        const out = moveRight(this.chars.length - this.cursor);
        this.cursor = this.chars.length;
        return out;
      }
      case 'backspace': {
        if (this.cursor === 0) return '';
        this.chars.splice(this.cursor - 1, 1);
        this.cursor -= 1;
        const tail = this.chars.slice(this.cursor).join('');
        return '\b' + tail + ' ' + moveLeft(tail.length + 1);
      }
      case 'delete': {
        if (this.cursor === this.chars.length) return '';
        this.chars.splice(this.cursor, 1);
        const tail = this.chars.slice(this.cursor).join('');
        return tail + ' ' + moveLeft(tail.length + 1);
      }
      case 'up': {
        if (this.historyPos === 0) return '';
        if (this.historyPos === this.history.length) this.draft = [...this.chars];
        this.historyPos -= 1;
        return this.replaceLine([...this.history[this.historyPos]]);
      }
      case 'down': {
        if (this.historyPos >= this.history.length) return '';
        this.historyPos += 1;
        const next = this.historyPos === this.history.length ? this.draft : [...this.history[this.historyPos]];
        return this.replaceLine([...next]);
      }
      case 'ctrl-c': {
        // As in bash: abandon the line, show ^C, and start over on a new line.
        this.chars = [];
        this.cursor = 0;
        this.historyPos = this.history.length;
        events.push({ kind: 'interrupt' });
        return '^C\r\n';
      }
      case 'ctrl-d':
        if (this.chars.length === 0) {
          events.push({ kind: 'eof' });
          return '';
        }
        return this.applyKey('delete', events);
    }
  }
}

type Key = 'ignore' | 'left' | 'right' | 'home' | 'end' | 'backspace' | 'delete' | 'up' | 'down' | 'ctrl-c' | 'ctrl-d';

const ESCAPES: [string, Key][] = [
  ['\x1b[A', 'up'],
  ['\x1b[B', 'down'],
  ['\x1b[C', 'right'],
  ['\x1b[D', 'left'],
  ['\x1bOA', 'up'],
  ['\x1bOB', 'down'],
  ['\x1bOC', 'right'],
  ['\x1bOD', 'left'],
  ['\x1b[H', 'home'],
  ['\x1b[F', 'end'],
  ['\x1bOH', 'home'],
  ['\x1bOF', 'end'],
  ['\x1b[1~', 'home'],
  ['\x1b[4~', 'end'],
  ['\x1b[3~', 'delete'],
];

function matchEscape(s: string): { key: Key; length: number } | undefined {
  if (s[0] !== '\x1b') return undefined;
  for (const [seq, key] of ESCAPES) if (s.startsWith(seq)) return { key, length: seq.length };
  // Unknown sequence: swallow a CSI sequence whole so it does not print as text.
  const csi = /^\x1b(\[[0-9;?]*[A-Za-z~]|O[A-Za-z])/.exec(s);
  if (csi) return { key: 'ignore', length: csi[0].length };
  return undefined;
}

function moveLeft(n: number): string {
  return n > 0 ? `\x1b[${n}D` : '';
}

function moveRight(n: number): string {
  return n > 0 ? `\x1b[${n}C` : '';
}
