/**
 * What a merge refused, told to whoever ran the command as `not merged: <path>: <reason>` lines
 * on stderr. A sandbox can refuse thousands of paths at once, so the lines are capped.
 */
const MAX_LINES = 50;

export class MergeNotes {
  private readonly lines: string[] = [];
  private more = 0;

  refuse(path: string, reason: string): void {
    if (this.lines.length < MAX_LINES) this.lines.push(`not merged: ${path}: ${reason}`);
    else this.more++;
  }

  get count(): number {
    return this.lines.length + this.more;
  }

  /** The text to append to the command's stderr ('' when nothing was refused). */
  text(): string {
    if (this.lines.length === 0) return '';
    const tail = this.more > 0 ? [`not merged: ${this.more} more paths (see above for the reasons)`] : [];
    return [...this.lines, ...tail].map((l) => `[agentfense] ${l}\n`).join('');
  }
}
