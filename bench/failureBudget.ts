/**
 * How many failed calls a timed loop tolerates. On a shared machine an outside process can
 * kill a sandboxed command now and then (seen here: exit 137 from a SIGKILL nobody in the
 * bench sent); one such call must not void a 1 000-call measurement, but a server that fails
 * often must not look fast either. Failures are excluded from the samples, counted, and
 * reported; beyond the budget the scenario fails.
 */
export class FailureBudget {
  readonly failures: string[] = [];

  constructor(
    private readonly what: string,
    private readonly fraction = 0.01,
  ) {}

  record(message: string): void {
    this.failures.push(message);
  }

  /** Throws if more than `fraction` of `attempts` (at least one) failed. */
  check(attempts: number): void {
    const allowed = Math.max(1, Math.floor(attempts * this.fraction));
    if (this.failures.length > allowed) {
      throw new Error(
        `${this.failures.length} of ${attempts} ${this.what} failed (allowed ${allowed}); first: ${this.failures[0]}`,
      );
    }
  }

  note(): string | undefined {
    return this.failures.length
      ? `${this.failures.length} failed and not timed, e.g. ${this.failures[0]!.slice(0, 60)}`
      : undefined;
  }
}
