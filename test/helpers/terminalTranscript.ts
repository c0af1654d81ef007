/** What an InteractiveTerminal printed, decoded as a stream, with a wait for text to appear. */
import assert from 'node:assert/strict';
import type { InteractiveTerminal } from '../../src/client';
import { settle } from './waitFor';

export class TerminalTranscript {
  text = '';
  merges: number[] = [];
  private readonly decoder = new TextDecoder();

  constructor(readonly terminal: InteractiveTerminal) {
    terminal.onOutput((bytes) => (this.text += this.decoder.decode(bytes, { stream: true })));
    terminal.onMerged((m) => this.merges.push(m.pathsMerged));
  }

  /** Waits until the text after `from` matches, and returns that part (the assertion says what was there). */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<string> {
    const seen = await settle(
      () => this.text.slice(from),
      (t) => pattern.test(t),
      timeoutMs,
    );
    assert.match(seen, pattern);
    return seen;
  }

  /** Types a line and waits for the prompt that follows its output; returns what it printed. */
  async run(line: string, promptAfter = /sandbox\S*:\S*\$ $/): Promise<string> {
    const from = this.text.length;
    this.terminal.write(line + '\r');
    return this.waitFor(new RegExp(`${escape(line.slice(-20))}[\\s\\S]*${promptAfter.source}`), from);
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
