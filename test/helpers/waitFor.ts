/**
 * Waits for a condition instead of a fixed sleep: reads until `accept` holds or the time is up,
 * and then returns the last value read, so the test's own assertion reports what it saw. The
 * timeout is a bound for a loaded machine, not a measurement.
 */
export async function settle<T>(
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
