/**
 * The command line of dist/server.js: --help prints the usage to stdout and exits 0; a wrong
 * flag is a plain message on stderr with exit code 2 (not a JSON log line).
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/server-cli.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SERVER_JS } from '../helpers/server';

const run = (...args: string[]) => spawnSync(process.execPath, [SERVER_JS, ...args], { encoding: 'utf8', timeout: 10_000 });

describe('server command line', () => {
  for (const flag of ['--help', '-h']) {
    it(`${flag} prints the plain usage to stdout and exits 0`, () => {
      const r = run(flag);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^usage: node dist\/server\.js --listen unix:PATH\|HOST:PORT --data-dir DIR\n/);
      assert.match(r.stdout, /--log-level debug\|info\|warn\|error\]\n[^]*--shm-size SIZE[^\n]*\n$/);
      assert.equal(r.stderr, '');
    });
  }

  it('a wrong flag is a plain message on stderr, exit 2', () => {
    const r = run('--bogus');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^agentfense server: unknown option --bogus\nusage: /);
    assert.throws(() => JSON.parse(r.stderr.split('\n')[0]!));
    const missing = run('--listen');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'agentfense server: --listen needs a value\n');
  });
});
