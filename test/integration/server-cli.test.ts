/**
 * The command line of dist/server.js: --help prints the usage to stdout and exits 0; a wrong
 * flag is a plain message on stderr with exit code 2 (not a JSON log line); --check tells
 * whether this host can run sandboxes, with a fix for each failed check, and exits 1 if not.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/server-cli.test.ts
 */
import { after, before, describe, it } from 'node:test';
import { DOCKER } from '../helpers/runtimes';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Readiness } from '../../src/shared/hostReadiness';
import { makeTempDir, SERVER_JS } from '../helpers/server';

const run = (...args: string[]) =>
  spawnSync(process.execPath, [SERVER_JS, ...args], { encoding: 'utf8', timeout: 10_000 });
/** With PATH set to `pathDirs` only. */
const runWithPath = (pathDirs: string, ...args: string[]) =>
  spawnSync(process.execPath, [SERVER_JS, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PATH: pathDirs },
  });

describe('server command line', () => {
  for (const flag of ['--help', '-h']) {
    it(`${flag} prints the plain usage to stdout and exits 0`, () => {
      const r = run(flag);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^usage: node dist\/server\.js --listen unix:PATH\|HOST:PORT --data-dir DIR\n/);
      assert.match(
        r.stdout,
        /--e2b-listen HOST:PORT --e2b-key-file FILE\][^\n]*\n {7}node dist\/server\.js --check \[--json\] \[--sandbox-uid N\] \[--docker-host unix:\/\/\/PATH\]\n.*exit 1 when not\n$/,
      );
      assert.equal(r.stderr, '');
    });
  }

  it('the E2B front needs both its address and its key file, exit 2', () => {
    const r = run('--listen', 'unix:/tmp/never.sock', '--data-dir', '/tmp/never', '--e2b-listen', '127.0.0.1:3000');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--e2b-listen and --e2b-key-file go together/);
  });

  it('a remote Docker engine is refused at start, saying why, exit 2', () => {
    const r = run(
      '--listen',
      'unix:/tmp/never.sock',
      '--data-dir',
      '/tmp/never',
      '--docker-host',
      'tcp://10.0.0.1:2375',
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--docker-host: the Docker engine must be local, on a Unix socket/);
  });

  it('a wrong flag is a plain message on stderr, exit 2', () => {
    const r = run('--bogus');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^agentfense server: unknown option --bogus\nusage: /);
    assert.throws(() => JSON.parse(r.stderr.split('\n')[0]!));
    const missing = run('--listen');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'agentfense server: --listen needs a value\n');
    const noSlots = run('--listen', 'unix:/nonexistent/s.sock', '--data-dir', '/nonexistent', '--max-launches', '0');
    assert.equal(noSlots.status, 2);
    assert.match(noSlots.stderr, /--max-launches must be an integer from 1 to 4096; got "0"/);
  });
});

describe('server --check', () => {
  it('on this host (which runs the test suite): every check ✓, exit 0', () => {
    const r = run('--check');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), 'This host can run sandboxes.');
    // The Docker engine is reported, never required: '-' where this host runs none.
    assert.ok(
      lines.slice(0, -1).every((l) => l.startsWith('✓ ') || l.startsWith('- Docker engine (for Docker sandboxes): ')),
      r.stdout,
    );
    assert.ok(
      lines.some((l) => /^✓ A trial sandbox starts \(bwrap as uid \d+.*\): started and exited 0$/.test(l)),
      r.stdout,
    );
  });

  it('with no bwrap on PATH: ✗ with the packages to install, exit 1', () => {
    const empty = makeTempDir('af-empty-path-');
    try {
      const r = runWithPath(empty, '--check');
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^✗ bubblewrap installed: no bwrap on PATH \\(${empty}\\)\n`, 'm'));
      assert.match(r.stdout, /^ {8}sudo apt-get install -y bubblewrap$/m);
      assert.match(r.stdout, /^ {8}sudo dnf install -y bubblewrap$/m);
      assert.match(r.stdout, /^- A trial sandbox starts .*: no bwrap to run$/m);
      assert.match(r.stdout, /This host cannot run sandboxes: fix the ✗ checks above, then run --check again\.\n$/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('--json with an old bwrap: the verdict as JSON, exit 1', () => {
    const dir = makeTempDir('af-fake-bwrap-');
    try {
      fs.writeFileSync(join(dir, 'bwrap'), '#!/bin/sh\necho "bubblewrap 0.3.0"\n', { mode: 0o755 });
      const r = runWithPath(`${dir}:/usr/bin:/bin`, '--check', '--json');
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const verdict = JSON.parse(r.stdout) as Readiness;
      assert.equal(verdict.ready, false);
      const version = verdict.checks.find((c) => c.id === 'bwrap-version');
      assert.equal(version?.status, 'fail');
      assert.equal(version?.detail, 'bubblewrap 0.3.0');
      assert.match(version?.fix?.summary ?? '', /upgrade bubblewrap to 0\.7\.0 or newer/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a flag --check does not take is a usage error, exit 2', () => {
    const r = run('--check', '--listen', 'unix:/tmp/x.sock');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'agentfense server: --check takes only --json, --sandbox-uid and --docker-host; got --listen\n',
    );
  });

  describe('the Docker engine', DOCKER.skip, () => {
    before(() => DOCKER.setUp());
    after(() => DOCKER.tearDown());

    it('is reported with its version when it answers', () => {
      const r = run('--check', '--docker-host', `unix://${DOCKER.socket}`);
      assert.match(r.stdout, /^✓ Docker engine \(for Docker sandboxes\): Docker \d+\.\d+\S* \(\w+\) at \/\S+$/m);
    });

    it('is reported as missing, with the host still ready, when none answers', () => {
      const r = run('--check', '--docker-host', 'unix:///nonexistent/docker.sock');
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /^- Docker engine \(for Docker sandboxes\): none answers at \/nonexistent\/docker\.sock/m);
    });
  });
});
