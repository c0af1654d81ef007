/** The last `limit` characters of a command's output: enough to find its problems, bounded in memory. */
export class OutputTail {
  private parts: string[] = [];
  private length = 0;

  constructor(private readonly limit = 1 << 20) {}

  add(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.length > 2 * this.limit) this.compact();
  }

  get text(): string {
    this.compact();
    return this.parts[0] ?? '';
  }

  private compact(): void {
    const all = this.parts.join('');
    const kept = all.length > this.limit ? all.slice(all.length - this.limit) : all;
    this.parts = [kept];
    this.length = kept.length;
  }
}
