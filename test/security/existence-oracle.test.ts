/**
 * A sandbox learns nothing about a `none` file, not even that it exists (issue 18, W1).
 * Under `development` (*.key hidden), writing beneath or over a hidden name used to answer
 * differently when the hidden file existed (`"x.key" is a file…`, and the whole command
 * failed) than when it did not (merged). Now both answer the same, word for word, and the
 * hidden file is untouched. Run in overlay mode (root) and copy mode.
 *
 *   node --import tsx --test test/security/existence-oracle.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { getPreset } from '../../src/shared/presets';
import { startServer, wireRules, type TestServer } from '../helpers/server';

const HIDDEN = 'deploy.key'; // exists in the codebase, hidden by **/*.key
const ABSENT = 'ghost.key'; // same rule, no such file

interface Answer {
  ok: boolean;
  exitCode?: number;
  stderr?: string;
  grpcCode?: number;
  error?: string;
  merged: string[];
}

/** Everything the sandbox (or its caller) gets back, with the guessed name replaced by NAME. */
async function answerFor(
  server: TestServer,
  sandbox: string,
  codebase: string,
  name: string,
  command: (n: string) => string,
): Promise<Answer> {
  const hide = (s: string) => s.split(name).join('NAME');
  let answer: Answer;
  try {
    const r = await server.exec(sandbox, command(name));
    answer = { ok: true, exitCode: r.exitCode, stderr: hide(r.stderr), merged: [] };
  } catch (err) {
    const e = err as ServiceError;
    answer = { ok: false, grpcCode: e.code, error: hide(e.details ?? e.message), merged: [] };
  }
  // Whether anything beneath the name reached the codebase is an answer too (read_file, review).
  answer.merged = (await server.listFiles(codebase)).filter((p) => p.startsWith(`${name}/`)).map(hide);
  return answer;
}

for (const cow of ['overlay', 'copy'] as const) {
  const skip =
    cow === 'overlay' && process.getuid?.() !== 0 && 'needs root: overlay layers are mounted by a root server';
  describe(`none files are not even an existence oracle (${cow})`, { skip }, () => {
    let server: TestServer;
    let codebase: string;
    let sandbox: string;

    before(async () => {
      server = await startServer({ args: ['--cow', cow] });
      codebase = await server.createCodebase({ [HIDDEN]: 'TOP-SECRET\n', 'src/app.py': 'print(1)\n' });
      sandbox = await server.startSandbox(codebase, wireRules(getPreset('development')));
    });

    after(async () => {
      await server?.stop();
    });

    const cases: [string, (n: string) => string][] = [
      ['a file beneath the name', (n) => `mkdir -p ${n} && echo 1 > ${n}/p`],
      ['a deeper tree beneath the name', (n) => `mkdir -p ${n}/a/b && echo 1 > ${n}/a/b/q`],
      ['a file over the name', (n) => `rm -rf ${n}; echo 1 > ${n}`],
    ];
    for (const [what, command] of cases) {
      test(`writing ${what} answers the same whether the hidden file exists or not`, async () => {
        const withHidden = await answerFor(server, sandbox, codebase, HIDDEN, command);
        const without = await answerFor(server, sandbox, codebase, ABSENT, command);
        assert.deepEqual(withHidden, without);
        assert.equal(withHidden.ok, true, `the command itself must not fail: ${JSON.stringify(withHidden)}`);
        // Clean up inside the sandbox so the next case starts alike for both names.
        await server.exec(sandbox, `rm -rf ${HIDDEN} ${ABSENT}`);
        assert.equal(await server.download(codebase, HIDDEN), 'TOP-SECRET\n', 'the hidden file must be untouched');
      });
    }
  });
}
