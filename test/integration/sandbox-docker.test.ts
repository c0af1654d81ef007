/**
 * What only the Docker runtime has to get right, on a private engine (helpers/runtimes.ts): the
 * container it runs in (user, capabilities, root file system, network, limits), sessions whose
 * background jobs live until the session ends, cancellation and timeouts that kill exactly the
 * command's tree, an image that cannot be had or an engine that is not there (each a clear
 * FAILED_PRECONDITION), what needs bubblewrap saying so, and a server restart (the leftover
 * container goes; the sandbox starts again in a new one). The permission matrix, copy-on-write
 * and the escape suite run under both runtimes in their own files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { call, rules, startServer, type TestServer } from '../helpers/server';
import { DOCKER } from '../helpers/runtimes';
import { processesMatching } from '../helpers/hostProcesses';
import { settle } from '../helpers/waitFor';
import { engineGet } from '../../scripts/privateDockerd.mjs';
import { RuntimeType, type Sandbox, type Session, type ExecResult } from '../../src/generated/sandbox';
import { AUDIT_REQUEST_HEADER } from '../../src/shared/streamTrailers';
import { SandboxClient } from '../../src/client';

const WRITE_ALL = rules(['**/*', 'write']);

async function rejectsWith(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.details, message);
    return true;
  });
}

describe('Docker sandboxes', DOCKER.skip, () => {
  let server: TestServer;
  let codebase: string;
  let sandbox: string;
  const run = (command: string, extra: Parameters<TestServer['exec']>[2] = {}) =>
    server.exec(sandbox, command, extra) as Promise<ExecResult>;

  before(async () => {
    const setup = await DOCKER.setUp();
    server = await startServer({ args: setup.serverArgs, sandboxDefaults: setup.sandbox });
    codebase = await server.createCodebase({ 'app.txt': 'app\n' });
    sandbox = await server.startSandbox(codebase, WRITE_ALL, {
      resources: { memoryBytes: 128 * 1024 * 1024, pidsLimit: 50, cpuQuota: 50_000, cpuShares: 0 },
    });
  });
  after(async () => {
    await server?.stop();
    await DOCKER.tearDown();
  });

  it('GetSandbox says Docker and the image', async () => {
    const sb = await call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: sandbox });
    assert.equal(sb.runtime, RuntimeType.RUNTIME_TYPE_DOCKER);
    assert.equal(sb.image, DOCKER.image);
  });

  it('runs unprivileged: not root, no capabilities, no new privileges, a read-only root, no network', async () => {
    const r = await run(
      'id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; touch /etc/x 2>&1; ls /sys/class/net; cat /proc/self/uid_map',
    );
    const [uid] = r.stdout.split('\n');
    assert.notEqual(uid, '0');
    assert.match(r.stdout, /CapEff:\s+0000000000000000/);
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    assert.match(r.stdout, /Read-only file system/);
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => /^\w+$/.test(l) && l !== uid),
      ['lo'],
      'only a loopback interface',
    );
  });

  it('the resource limits are the container’s: memory, pids', async () => {
    const r = await run(
      'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max',
    );
    assert.deepEqual(r.stdout.trim().split('\n'), [String(128 * 1024 * 1024), '50']);
  });

  it('the image’s own files are what runs (its shell, its tools), and the workspace is the view', async () => {
    const r = await run('cat app.txt; echo changed > app.txt; test -x /usr/bin/sh && echo has-sh');
    assert.equal(r.stdout, 'app\nhas-sh\n');
    assert.equal(await server.download(codebase, 'app.txt'), 'changed\n');
  });

  it('a timeout kills the command’s whole tree, background and setsid’d processes included', async () => {
    const marker = 5000 + Math.floor(Math.random() * 900);
    await rejectsWith(
      run(`sleep ${marker}.1 & setsid sleep ${marker}.2 & sleep ${marker}.3`, { timeout: { seconds: 1, nanos: 0 } }),
      status.DEADLINE_EXCEEDED,
      /timed out after 1s/,
    );
    const left = await settle(
      () => processesMatching(`sleep ${marker}.`),
      (v) => v.length === 0,
      5000,
    );
    assert.deepEqual(left, []);
  });

  it('what an Exec leaves running in the background ends with it', async () => {
    const marker = 6000 + Math.floor(Math.random() * 900);
    await run(`(sleep ${marker}.1 &) ; nohup sleep ${marker}.2 >/dev/null 2>&1 &`);
    assert.deepEqual(
      await settle(
        () => processesMatching(`sleep ${marker}.`),
        (v) => v.length === 0,
        5000,
      ),
      [],
    );
  });

  it('a session keeps its directory, variables and background jobs until it is destroyed', async () => {
    const marker = 7000 + Math.floor(Math.random() * 900);
    const s = await call<Session>(server.sandboxes, server.sandboxes.createSession, {
      sandboxId: sandbox,
      shell: '',
      env: { FROM_CREATE: 'yes' },
    });
    assert.equal(s.shell, '/bin/sh', "a Docker session's default shell is the image's /bin/sh");
    const exec = (command: string) =>
      call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
        sessionId: s.id,
        command,
        timeout: undefined,
      });
    assert.equal(
      (await exec(`cd /tmp && export A=1; sleep ${marker}.5 >/dev/null 2>&1 & echo started`)).stdout,
      'started\n',
    );
    const second = await exec('pwd; echo $A $FROM_CREATE; exit 4');
    assert.equal(second.stdout, '/tmp\n1 yes\n');
    assert.equal(second.exitCode, 4);
    assert.equal(processesMatching(`sleep ${marker}.5`).length, 1, 'the background job lives on between commands');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
    assert.deepEqual(
      await settle(
        () => processesMatching(`sleep ${marker}.5`),
        (v) => v.length === 0,
        5000,
      ),
      [],
      'DestroySession ends it',
    );
  });

  it('interactive terminals and audited commands say they need bubblewrap', async () => {
    const md = new Metadata();
    md.set(AUDIT_REQUEST_HEADER, '1');
    await rejectsWith(
      call(
        server.sandboxes,
        server.sandboxes.exec,
        { sandboxId: sandbox, command: 'true', stdin: '', env: {}, workdir: '', timeout: undefined },
        md,
      ),
      status.FAILED_PRECONDITION,
      /needs the bubblewrap runtime; this sandbox runs in Docker/,
    );
    const client = new SandboxClient({ endpoint: server.address });
    try {
      const end = await client.openTerminal(sandbox, {}).end;
      assert.ok('error' in end, JSON.stringify(end));
      assert.match(end.error.message, /interactive terminals need the bubblewrap runtime/);
    } finally {
      client.close();
    }
  });

  it('an image that is neither present nor pullable is a clear FAILED_PRECONDITION', async () => {
    await rejectsWith(
      server.startSandbox(codebase, WRITE_ALL, { image: 'agentfense-test/never-built:1' }),
      status.FAILED_PRECONDITION,
      /image agentfense-test\/never-built:1 not found locally and the registry is unreachable/,
    );
    await rejectsWith(
      server.startSandbox(codebase, WRITE_ALL, { image: '' }),
      status.INVALID_ARGUMENT,
      /image is required for the Docker runtime/,
    );
  });

  it('stop removes the container; start makes a new one with the codebase as merged', async () => {
    await run('echo kept > kept.txt');
    await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId: sandbox });
    const { body } = await engineGet(DOCKER.socket, '/containers/json?all=1');
    assert.ok(!body.includes(sandbox), 'no container while stopped');
    await call(server.sandboxes, server.sandboxes.startSandbox, { sandboxId: sandbox });
    assert.equal((await run('cat kept.txt')).stdout, 'kept\n');
  });

  it('after a server restart the leftover container is gone and the sandbox starts again', async () => {
    const dataDir = server.dataDir;
    const args = (await DOCKER.setUp()).serverArgs;
    await server.stop('SIGKILL', { keepDir: true });
    const leftover = await engineGet(DOCKER.socket, '/containers/json?all=1');
    assert.ok(leftover.body.includes(sandbox), 'the killed server left its container (what recovery must remove)');
    server = await startServer({ dataDir, args, sandboxDefaults: (await DOCKER.setUp()).sandbox });
    const { body } = await engineGet(DOCKER.socket, '/containers/json?all=1');
    assert.ok(!body.includes(sandbox), 'recovery removed it');
    await call(server.sandboxes, server.sandboxes.startSandbox, { sandboxId: sandbox });
    assert.equal((await run('cat kept.txt')).stdout, 'kept\n');
  });
});

describe('Docker sandboxes without an engine', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--docker-host', 'unix:///nonexistent/docker.sock'] });
  });
  after(() => server.stop());

  it('CreateSandbox says there is no engine and how to start one', async () => {
    const cb = await server.createCodebase({ 'a.txt': 'a\n' });
    await rejectsWith(
      server.startSandbox(cb, WRITE_ALL, { runtime: RuntimeType.RUNTIME_TYPE_DOCKER, image: 'python:3.11-slim' }),
      status.FAILED_PRECONDITION,
      /the Docker runtime needs a Docker engine, and none answers at \/nonexistent\/docker\.sock.*Start one/,
    );
  });
});
