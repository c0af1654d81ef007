/**
 * Bookkeeping for escape attempts: every try is counted, every output is scanned for the
 * canaries, and a try "leaks" when a canary or forbidden content shows up or when a
 * forbidden operation reports success.
 *
 * Commands print a success marker with `echo LE""AKED:<what>`: the shell prints LEAKED, the
 * command text itself never contains the marker, so an error message that echoes the
 * command cannot produce a false leak.
 */
import type { ServerHandle } from './harness';

export const MARK = 'LEAKED';
/** Shell snippet printing the leak marker. */
export const leakIf = (what: string) => `echo LE""AKED:${what}`;

export interface LeakRecord {
  attempt: string;
  what: string;
  evidence: string;
}

export class Tally {
  attempts = 0;
  leaks: LeakRecord[] = [];
  /** Extra secret strings to look for (beyond the fixture canaries). */
  readonly secrets: string[] = [];
  /** Names (regexes) whose mere appearance in a listing is a leak. */
  readonly hiddenNames: RegExp[] = [];

  constructor(canaries: string[] = []) {
    this.secrets.push(...canaries);
  }

  summary(): string {
    return `attempts: ${this.attempts}, leaks: ${this.leaks.length}`;
  }
}

export interface ShResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  out: string;
}

/** One attack: counts itself, runs commands, collects leaks. */
export class Attempt {
  readonly leaks: LeakRecord[] = [];
  constructor(
    readonly tally: Tally,
    readonly srv: ServerHandle,
    readonly name: string,
  ) {
    tally.attempts++;
  }

  /** Scans any text that came out of the sandbox (or through the API from it). */
  scan(text: string, where: string, { names = false } = {}): void {
    for (const s of this.tally.secrets) {
      if (s && text.includes(s)) this.leak(`secret ${s.slice(0, 20)}… in ${where}`, excerpt(text, s));
    }
    const m = text.indexOf(MARK + ':');
    if (m >= 0) this.leak(`forbidden operation succeeded (${where})`, text.slice(m, m + 200));
    if (names) {
      for (const re of this.tally.hiddenNames) {
        const hit = re.exec(text);
        if (hit) this.leak(`hidden name ${hit[0]} listed (${where})`, excerpt(text, hit[0]));
      }
    }
  }

  leak(what: string, evidence: string): void {
    const rec = { attempt: this.name, what, evidence: evidence.slice(0, 400) };
    this.leaks.push(rec);
    this.tally.leaks.push(rec);
  }

  /** Runs a command in a sandbox and scans its output. `names`: also flag hidden names. */
  async sh(
    sandboxId: string,
    command: string,
    o: { names?: boolean; timeoutSec?: number; workdir?: string } = {},
  ): Promise<ShResult> {
    const r = await this.srv.exec(sandboxId, command, { timeoutSec: o.timeoutSec ?? 30, workdir: o.workdir });
    const out = r.stdout + '\n' + r.stderr;
    this.scan(out, `output of: ${command.slice(0, 80)}`, { names: o.names });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, out };
  }

  /** Like sh() but through a session. */
  async sess(sessionId: string, command: string, o: { names?: boolean; timeoutSec?: number } = {}): Promise<ShResult> {
    const r = await this.srv.sessionExec(sessionId, command, o.timeoutSec ?? 30);
    const out = r.stdout + '\n' + r.stderr;
    this.scan(out, `session output of: ${command.slice(0, 80)}`, { names: o.names });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, out };
  }
}

function excerpt(text: string, needle: string): string {
  const i = text.indexOf(needle);
  return text.slice(Math.max(0, i - 120), i + needle.length + 60);
}
