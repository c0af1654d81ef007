// Problems in a run's output (src/core/run/outputProblems.ts), from the real outputs of the
// runners in test/fixtures/outputs: where each failure is in the workspace, and what it says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOutputProblems } from '../../src/core/run/outputProblems';

const output = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'outputs', name), 'utf8');
const brief = (name: string) =>
  parseOutputProblems(output(name)).map(
    (p) => `${p.source} ${p.severity} ${p.path}:${p.line}:${p.column} ${p.message}`,
  );

describe('parseOutputProblems', () => {
  it('node:test (TAP): the failing assertion, not the test header, with the error', () => {
    assert.deepEqual(brief('node-test-tap.txt'), [
      'test error test/math.test.js:11:10 divide refuses to divide by zero: Missing expected exception.',
    ]);
  });

  it('node:test (spec reporter): the same failure once, though the summary repeats it', () => {
    assert.deepEqual(brief('node-test-spec.txt'), [
      'test error test/math.test.js:11:10 divide refuses to divide by zero: AssertionError [ERR_ASSERTION]: Missing expected exception.',
    ]);
  });

  it('tsc and eslint (stylish): every finding with its severity and rule', () => {
    assert.deepEqual(brief('tsc.txt'), [
      "tsc error a.ts:1:7 Type 'string' is not assignable to type 'number'. (TS2322)",
    ]);
    assert.deepEqual(brief('eslint-stylish.txt'), [
      'eslint warning src/bad.js:1:1 Unexpected var, use let or const instead (no-var)',
      "eslint error src/bad.js:1:5 'y' is assigned a value but never used (no-unused-vars)",
      "eslint error src/bad.js:2:10 'f' is defined but never used (no-unused-vars)",
      "eslint error src/bad.js:2:12 'a' is defined but never used (no-unused-vars)",
    ]);
  });

  it('pytest, go test and jest: the user file, never node_modules', () => {
    assert.deepEqual(brief('pytest.txt'), ['pytest error tests/test_math.py:3:1 assert 2 == 3 (AssertionError)']);
    assert.deepEqual(brief('go-test.txt'), ['go error math_test.go:12:1 add(2, 3) = 6, want 5']);
    assert.deepEqual(brief('jest.txt'), [
      'test error src/math.test.js:11:32 math › divides by zero: expect(received).toThrow()',
    ]);
  });

  it('keeps paths outside the workspace and colour codes out', () => {
    const text =
      '\x1b[31mnot ok 1 - outside\x1b[0m\n  at f (/usr/lib/node/x.js:1:1)\n  at g (node:internal/y:2:2)\n# tests 1\n';
    assert.deepEqual(parseOutputProblems(text), []);
    assert.deepEqual(parseOutputProblems('all good\n# pass 3\n'), []);
  });
});
