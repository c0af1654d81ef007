// The test command: build, type-check, lint, then run the suites with Node's test runner.
//   npm test                       every suite
//   npm test -- unit integration   only those suites (folders under test/)
//   npm test -- --no-user          as root: skip the second pass as an unprivileged user
//
// Run as root, it then runs the suites that start servers again as the unprivileged user
// `agentfense-test` (scripts/test-user.mjs): real users are not root, and a non-root server takes
// other paths. The exit code fails if either pass fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { prepareTestUser } from './test-user.mjs';
import { dockerdPath, startPrivateDockerd } from './privateDockerd.mjs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL_SUITES = ['unit', 'integration', 'security', 'reliability', 'e2e'];
// The suites whose servers and sandboxes behave differently when not root.
const USER_SUITES = ['integration', 'security', 'reliability', 'e2e'];
const secondPass = process.getuid?.() === 0 && !process.argv.includes('--no-user');
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = asked.length ? asked : ALL_SUITES;
for (const s of suites) {
  if (!ALL_SUITES.includes(s)) {
    console.error(`unknown suite "${s}" (known: ${ALL_SUITES.join(', ')})`);
    process.exit(2);
  }
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return testFiles(p);
      return name.endsWith('.test.ts') ? [p] : [];
    })
    .sort();
}

// Everything but the unit tests needs host packages (bubblewrap, grpcio, Chromium, code-server):
// install what is missing first, so `npm test` alone works on a fresh machine.
if (suites.some((s) => s !== 'unit')) run(process.execPath, [join(root, 'scripts', 'e2e-setup.mjs')]);
run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
// tsc -b: each layer is a project that references only the layers it may use (tsconfig.base.json).
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
// The layer boundaries (eslint.config.mjs) fail the run like a type error.
run(process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), 'src', 'test', 'bench']);
// One format (.prettierrc.json, 120 columns): `npm run format` fixes what this refuses.
run(process.execPath, [
  join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
  '--check',
  '--log-level',
  'warn',
  'src',
  'test',
  'bench',
  'scripts',
]);

const files = suites.flatMap((s) => testFiles(join(root, 'test', s)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Files that load the machine on purpose and measure how the server holds up (a thousand
// launches; an event-loop watchdog with a latency bound) run after the others, one at a time:
// beside another suite they measure the neighbour, and they slow it down.
const ALONE = new Set(['test/reliability/load.test.ts', 'test/reliability/event-loop.test.ts']);
const shared = files.filter((f) => !ALONE.has(relative(root, f)));
const alone = files.filter((f) => ALONE.has(relative(root, f)));
console.log(
  `running ${files.length} test files: ${suites.join(', ')}${alone.length ? ` (${alone.length} of them alone, last)` : ''}`,
);
const runFiles = (list, concurrency) =>
  list.length === 0
    ? { status: 0 }
    : spawnSync(
        process.execPath,
        // --test-force-exit: a file whose tests have all finished must not hold the run open with a
        // leftover handle (a hung CI run is worse than a reported leak).
        [
          '--import',
          'tsx',
          '--test',
          '--test-force-exit',
          `--test-concurrency=${concurrency}`,
          '--test-reporter=spec',
          ...list.map((f) => relative(root, f)),
        ],
        { cwd: root, stdio: 'inherit' },
      );
const sharedResult = runFiles(shared, 2);
const aloneResult = runFiles(alone, 1);
const passed = sharedResult.status === 0 && aloneResult.status === 0;

const userSuites = suites.filter((s) => USER_SUITES.includes(s));
if (!secondPass || userSuites.length === 0) process.exit(passed ? 0 : 1);

const u = prepareTestUser(root);
// The user cannot start dockerd: the Docker runtime's suites get a private one, its socket in
// the user's group, as a docker-group user has it (test/helpers/runtimes.ts).
const dockerd = dockerdPath() ? await startPrivateDockerd({ socketGroup: u.gid }) : undefined;
if (dockerd) u.env.AGENTFENSE_TEST_DOCKER_SOCKET = dockerd.socket;
console.log(`\n[test] again as the unprivileged user ${u.user} (uid ${u.uid}) in ${u.repo}: ${userSuites.join(', ')}`);
const asUser = spawnSync(
  'runuser',
  [
    '-u',
    u.user,
    '--',
    'env',
    '-i',
    ...Object.entries(u.env).map(([k, v]) => `${k}=${v}`),
    process.execPath,
    join(u.repo, 'scripts', 'test.mjs'),
    ...userSuites,
  ],
  { cwd: u.repo, stdio: 'inherit' },
);
await dockerd?.stop();
const userPassed = asUser.status === 0;
console.log(`[test] as root: ${passed ? 'passed' : 'FAILED'}; as ${u.user}: ${userPassed ? 'passed' : 'FAILED'}`);
process.exit(passed && userPassed ? 0 : 1);
