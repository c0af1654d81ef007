// The words a finished run's notification uses (src/core/run/outcomeMessage.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomeMessage } from '../../src/core/run/outcomeMessage';

const problem = (path: string) => ({
  path,
  line: 1,
  column: 1,
  severity: 'error' as const,
  message: 'x',
  source: 'test',
});

test('a failure says how it ended and where its problems are; an interrupt or a passing command says nothing', () => {
  assert.equal(
    outcomeMessage('tests', 'npm test', 1, [problem('test/a.test.js')]),
    'Tests failed (exit 1) · 1 problem in test/a.test.js.',
  );
  assert.equal(
    outcomeMessage('task', 'build', 2, [problem('a.ts'), problem('b.ts'), problem('c.ts'), problem('a.ts')]),
    'Task "build" failed (exit 2) · 4 problems in a.ts, b.ts and 1 more.',
  );
  assert.equal(outcomeMessage('command', 'make', 1, []), '"make" failed (exit 1).');
  assert.equal(outcomeMessage('tests', 'npm test', 0, []), 'Tests passed.');
  assert.equal(outcomeMessage('command', 'ls', 0, []), undefined);
  assert.equal(outcomeMessage('tests', 'npm test', 130, []), undefined);
});
