/**
 * The denials of one command, from the audit pipe as it arrives: lines reassembled across
 * reads, each failed call classified once, the same refusal (kind, path named, operation, level wanted) counted
 * rather than repeated, and bounded (a command may fail a million lookups).
 */
import { denialOf, type Denial, type DenialContext } from './deniedAccess';
import { parseStraceLine } from './straceLine';

/** strace prints paths of up to 4096 bytes (-s 4096), escaped: a longer line is not ours to read. */
const MAX_LINE = 64 * 1024;
const MAX_DENIALS = 200;

export interface CountedDenial extends Denial {
  /** How many times the same refusal happened. */
  count: number;
}

export class DenialLog {
  private pending = '';
  private skippingLongLine = false;
  private readonly byKey = new Map<string, CountedDenial>();
  /** Distinct denials not kept once MAX_DENIALS were. */
  dropped = 0;

  constructor(private readonly ctx: DenialContext) {}

  push(chunk: string): void {
    let text = this.pending + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (this.skippingLongLine) this.skippingLongLine = false;
      else this.take(line);
    }
    if (text.length > MAX_LINE) {
      this.skippingLongLine = true;
      text = '';
    }
    this.pending = text;
  }

  get denials(): CountedDenial[] {
    return [...this.byKey.values()];
  }

  private take(line: string): void {
    const call = parseStraceLine(line);
    const denial = call && denialOf(call, this.ctx);
    if (!denial) return;
    const key = `${denial.kind}\0${denial.accessed}\0${denial.op}\0${denial.wants}`;
    const seen = this.byKey.get(key);
    if (seen) seen.count++;
    else if (this.byKey.size < MAX_DENIALS) this.byKey.set(key, { ...denial, count: 1 });
    else this.dropped++;
  }
}
