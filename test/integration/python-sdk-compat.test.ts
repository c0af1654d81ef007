/**
 * Wire compatibility with AgentFense's Python SDK: the scripts in test/compat/ send, call for
 * call, what the SDK sends (see test/compat/compat_lib.py) to the real embedded server
 * (dist/server.js, built by `node scripts/build.mjs`, which `npm test` runs first).
 *
 * Needs /usr/bin/python3 with grpcio, grpcio-tools and protobuf
 * (`apt-get install python3-grpcio python3-grpc-tools python3-protobuf`). Without them the
 * tests FAIL with that instruction; they do not skip. AF_COMPAT_PYTHON overrides the interpreter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER } from '../helpers/runtimes';

const root = join(__dirname, '..', '..');
const compatDir = join(root, 'test', 'compat');
const serverJs = join(root, 'dist', 'server.js');
const python = process.env.AF_COMPAT_PYTHON ?? '/usr/bin/python3';
const INSTALL =
  `${python} cannot import grpc / grpc_tools / google.protobuf. Install them with ` +
  '`apt-get install -y python3-grpcio python3-grpc-tools python3-protobuf` ' +
  '(Debian packages are seen by /usr/bin/python3, not by a pyenv python).';

/** Checks every script must report as `ok   <prefix>…` (a subset of what they print). */
const EXPECTED: Record<string, string[]> = {
  'sync_flow.py': [
    'from_local: StartSandbox returns status RUNNING',
    "from_local: the agent-safe preset's 9 rules echoed back in order",
    'GetCodebase after upload: file_count',
    'UploadFiles (4 data chunks): UploadResult.size',
    "run('sh build.sh'): exit_code",
    'run: stdout, stderr and a non-zero exit code are separate',
    'exec(stdin, env, workdir): stdout',
    "read_file('/workspace/output/result.txt') sees the file the command wrote",
    'read_file_bytes of a 200 KiB upload round-trips byte for byte',
    'write_file (UploadFiles) is visible to the next command',
    'create_sandbox(expires_in=5 min): expires_at ~ now + 300 s',
    'after destroy: GetSandbox -> NOT_FOUND',
    'after destroy(delete_codebase=True): GetCodebase -> NOT_FOUND',
  ],
  'exec_stream.py': [
    'exec_stream: OUTPUT_TYPE_STDOUT chunks carry stdout',
    'exec_stream: OUTPUT_TYPE_STDERR chunks carry stderr',
    'exec_stream: the first chunk arrives while the command still runs',
    'exec_stream(exit 0): stream ends with status OK',
    'read_file sees a file written by an ExecStream command',
    'exec_stream(sleep 30, timeout=1s) -> DEADLINE_EXCEEDED',
    'AsyncSandbox.exec_stream yields the bytes',
  ],
  'sessions.py': [
    'CreateSession: shell echoed back',
    'session: cd persists to the next SessionExec',
    'session: exported variables persist',
    'session: exit code 7 reported',
    'session: stderr output is returned',
    "Sandbox.session(): CreateSession(shell='/bin/sh') echoed",
    'two sessions keep separate cwd',
    "SessionExec('sleep 30', timeout=1s) -> DEADLINE_EXCEEDED",
    "DestroySession after a SessionExec timeout (the SDK's `with` exit) succeeds",
    "DestroySession killed the session's background job",
  ],
  'errors.py': [
    'Sandbox.connect(unknown id) -> GetSandbox -> NOT_FOUND',
    'exec on an unknown sandbox -> NOT_FOUND',
    'run on a PENDING sandbox -> FAILED_PRECONDITION',
    'StartSandbox on a running sandbox -> FAILED_PRECONDITION',
    'run on a STOPPED sandbox -> FAILED_PRECONDITION',
    "run('sleep 30', timeout=1) -> DEADLINE_EXCEEDED",
    'exec with an empty command -> INVALID_ARGUMENT',
    'a socket nobody listens on -> UNAVAILABLE',
  ],
  'permissions.py': [
    'agent-safe: README.md readable',
    'agent-safe: README.md not writable',
    'agent-safe: /output writable',
    'agent-safe: secrets/db.txt not readable',
    'agent-safe: hidden paths are not listed (ls -A)',
    'extra rules: /notes.txt writable (FILE rule)',
    'view-only: content not readable',
  ],
  'async_patterns.py': [
    'p1: 10 sandboxes under gather',
    'p1: they ran concurrently',
    'p1: every `async with` exit destroyed its sandbox',
    'p2: three commands fanned out on one sandbox',
    'p3: three concurrent read_file calls return what the command wrote',
    'p4: session pipeline',
    'p4: from_local(runtime=DOCKER) on a host without Docker -> FAILED_PRECONDITION',
    'p4: the failed DOCKER from_local left no codebase behind',
    'p5a: wait_for(gather(...)) returns every result in time',
    'p5b: a hanging project -> asyncio.TimeoutError',
    "p5b: the cancelled task's `async with` destroyed its sandbox",
    'p5c: gather(return_exceptions=True) reports per project',
    'parallel sessions: workflow_A keeps its own cwd',
    'parallel sessions: workflow_B keeps its own cwd',
    'low-level: the DOCKER sandbox fails with FAILED_PRECONDITION',
    'low-level: the read-only rule denies a write',
  ],
};

const TIMEOUT_MS: Record<string, number> = { 'async_patterns.py': 240_000 };

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runPython(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(python, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[test] killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}\n[test] spawn failed: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function pythonHasGrpc(): { ok: boolean; detail: string } {
  const r = spawnSync(python, ['-c', 'import grpc, grpc.aio, grpc_tools, google.protobuf; print(grpc.__version__)'], {
    encoding: 'utf8',
  });
  if (r.error) return { ok: false, detail: r.error.message };
  return { ok: r.status === 0, detail: (r.stdout + r.stderr).trim() };
}

/** Starts dist/server.js on a unix socket and resolves once it logs {"event":"listening"}. */
function startServer(dir: string, args: string[]): Promise<{ child: ChildProcess; socket: string; log: () => string }> {
  const socket = join(dir, 'af.sock');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, [serverJs, '--listen', `unix:${socket}`, '--data-dir', dataDir, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not log {"event":"listening"} within 20 s; output:\n${log}`));
    }, 20_000);
    let buf = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (/"event"\s*:\s*"listening"/.test(line)) {
          clearTimeout(timer);
          resolve({ child, socket, log: () => log });
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening; output:\n${log}`));
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe('AgentFense Python SDK wire compatibility (test/compat/*.py against dist/server.js)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'af-pycompat-'));
  // mkdtemp makes it 0700; a root server runs sandboxes as another uid that must reach --data-dir.
  chmodSync(tmp, 0o711);
  const genDir = join(tmp, 'pb2');
  let server: { child: ChildProcess; socket: string; log: () => string } | undefined;
  let serverError: Error | undefined;
  const deps = pythonHasGrpc();

  before(async () => {
    if (!existsSync(serverJs)) {
      serverError = new Error(`${serverJs} is missing: run \`node scripts/build.mjs\` (npm test does) first`);
      return;
    }
    try {
      // "A host without Docker" (async_patterns.py), whatever engine this machine may run.
      server = await startServer(tmp, ['--docker-host', `unix://${join(tmp, 'no-docker.sock')}`]);
    } catch (err) {
      serverError = err as Error;
    }
  });

  after(async () => {
    if (server) await stopServer(server.child);
    rmSync(tmp, { recursive: true, force: true });
  });

  test(`${python} can import grpc, grpc.aio, grpc_tools and protobuf`, () => {
    assert.ok(deps.ok, `${INSTALL}\n${deps.detail}`);
  });

  for (const [script, expected] of Object.entries(EXPECTED)) {
    test(script, { timeout: (TIMEOUT_MS[script] ?? 120_000) + 10_000 }, async () => {
      assert.ok(deps.ok, `${INSTALL}\n${deps.detail}`);
      if (serverError) throw serverError;
      assert.ok(server, 'server not started');
      await runScript([script, expected], server.socket, genDir);
    });
  }
});

describe('the Python SDK Docker flow (test/compat/docker_flow.py against a private Docker engine)', DOCKER.skip, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'af-pycompat-docker-'));
  chmodSync(tmp, 0o711);
  let server: { child: ChildProcess; socket: string; log: () => string } | undefined;

  before(async () => {
    const setup = await DOCKER.setUp();
    server = await startServer(tmp, setup.serverArgs);
  });
  after(async () => {
    if (server) await stopServer(server.child);
    await DOCKER.tearDown();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('docker_flow.py', { timeout: 130_000 }, async () => {
    const deps = pythonHasGrpc();
    assert.ok(deps.ok, `${INSTALL}\n${deps.detail}`);
    await runScript(DOCKER_EXPECTED, server!.socket, join(tmp, 'pb2'), { AF_COMPAT_DOCKER_IMAGE: DOCKER.image });
  });
});

const DOCKER_EXPECTED: [string, string[]] = [
  'docker_flow.py',
  [
    'docker: StartSandbox returns status RUNNING',
    'docker: runtime echoed back as RUNTIME_TYPE_DOCKER',
    'docker: image echoed back',
    'docker: resources echoed back',
    "docker: run('sh build.sh') exit_code",
    'docker: read_file sees what the command wrote',
    'docker: a non-zero exit code is reported',
    'docker: the command runs as a non-root user',
    'docker: .env is absent under agent-safe',
    "docker: run('sleep 30', timeout=1) -> DEADLINE_EXCEEDED",
    'docker: session keeps cwd and exported variables',
    'docker: after destroy, GetSandbox -> NOT_FOUND',
  ],
];

/** Runs one compat script against the server and checks it reported every expected line as ok. */
async function runScript(
  scriptAndExpected: [string, string[]],
  socket: string,
  genDir: string,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  const [script, expected] = scriptAndExpected;
  const env = { ...process.env, AF_COMPAT_GEN_DIR: genDir, PYTHONUNBUFFERED: '1', ...extraEnv };
  const r = await runPython([join(compatDir, script), `unix:${socket}`], env, TIMEOUT_MS[script] ?? 120_000);
  const report = `--- ${script} stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
  assert.equal(r.code, 0, `${script} exited ${r.code ?? r.signal}; failures:\n${failed.join('\n')}\n\n${report}`);
  const okLines = r.stdout.split('\n').filter((l) => l.startsWith('ok   '));
  const missing = expected.filter((e) => !okLines.some((l) => l.slice(5).startsWith(e)));
  assert.deepEqual(missing, [], `${script}: expected checks not reported as ok\n\n${report}`);
  assert.match(r.stdout, new RegExp(`compat ${script.replace('.py', '')}: \\d+ ok, 0 failed`));
}
