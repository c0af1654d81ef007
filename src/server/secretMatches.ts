import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a secret a caller gave with the expected one; hashing first makes the lengths equal. */
export function secretMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
