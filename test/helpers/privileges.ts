/**
 * Tests run as root and as an unprivileged user (npm test does both). A test that truly needs one
 * of them says why, through the `skip` option of test()/describe(): the reason shows in the report.
 * (Not `t.skip()` inside the test: that still runs the test's hooks against a half-made state.)
 */
export const AS_ROOT = process.getuid?.() === 0;

/** `{ skip }` for a test that needs root, e.g. `test('…', rootOnly('overlay mounts'), …)`. */
export function rootOnly(why: string): { skip: string | false } {
  return { skip: AS_ROOT ? false : `needs root: ${why}` };
}

/** `{ skip }` for a test of what only a non-root server does. */
export function nonRootOnly(why: string): { skip: string | false } {
  return { skip: AS_ROOT ? `as root the server takes another path: ${why}` : false };
}
