// The TypeScript client against the real embedded server (dist/server.js, real bwrap, real
// gRPC): the seed's first async example and the typed errors a caller relies on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  CommandTimeoutError,
  FileNotFoundError,
  Sandbox,
  SandboxClient,
  SandboxNotFoundError,
  SandboxNotRunningError,
} from '../../src/client';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';

let server: TestServer;
let client: SandboxClient;
let project: string;

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  project = makeTempDir('af-client-project-');
  fs.mkdirSync(join(project, 'src'));
  fs.mkdirSync(join(project, 'secrets'));
  fs.writeFileSync(join(project, 'src', 'app.py'), 'print("hello from app")\n');
  fs.writeFileSync(join(project, 'secrets', 'token.txt'), 'canary-7f3a\n');
  fs.writeFileSync(join(project, 'README.md'), '# project\n');
  fs.writeFileSync(join(project, '.gitignore'), 'build/\n');
  fs.mkdirSync(join(project, 'build'));
  fs.writeFileSync(join(project, 'build', 'out.bin'), 'ignored');
});

after(async () => {
  client.close();
  await server.stop();
  fs.rmSync(project, { recursive: true, force: true });
});

test('fromLocal → run → readFile → dispose, as in the seed’s first async example', async () => {
  let codebaseId: string;
  {
    await using sandbox = await Sandbox.fromLocal(project, { client, preset: 'agent-safe' });
    codebaseId = sandbox.codebaseId;
    const files = (await sandbox.listFiles('', true))
      .filter((f) => !f.isDir)
      .map((f) => f.path)
      .sort();
    assert.deepEqual(
      files,
      ['.gitignore', 'README.md', 'secrets/token.txt', 'src/app.py'],
      'gitignored build/ is not uploaded',
    );

    const result = await sandbox.run('cat src/app.py; ls -a; cat secrets/token.txt');
    assert.match(result.stdout, /hello from app/);
    assert.doesNotMatch(result.stdout, /secrets|canary/, 'agent-safe hides secrets/ from listings and reads');
    assert.match(result.stderr, /No such file or directory/);
    assert.notEqual(result.exitCode, 0);

    const wrote = await sandbox.run('mkdir -p output && echo report > output/r.txt');
    assert.equal(wrote.exitCode, 0, wrote.stderr);
    assert.equal((await sandbox.readFile('/workspace/output/r.txt')).toString(), 'report\n');
  }
  await assert.rejects(client.getCodebase(codebaseId), /not found/i, 'disposal deletes the codebase fromLocal created');
});

test('runStream delivers output live and an abort kills the command', async () => {
  await using sandbox = await Sandbox.fromLocal(project, { client, preset: 'read-only' });
  const chunks: string[] = [];
  for await (const { stream, data } of sandbox.runStream('echo one; echo two >&2')) chunks.push(`${stream}:${data}`);
  assert.deepEqual(chunks.sort(), ['stderr:two\n', 'stdout:one\n']);

  const abort = new AbortController();
  const started = Date.now();
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const { data } of sandbox.runStream('echo started; sleep 30; echo never', { signal: abort.signal })) {
      seen.push(String(data));
      abort.abort();
    }
  });
  assert.deepEqual(seen, ['started\n']);
  assert.ok(Date.now() - started < 20_000, 'the abort did not wait for the command');
  const ps = await sandbox.run('ps -eo args');
  assert.doesNotMatch(ps.stdout, /sleep 30/);
});

test('a session keeps its working directory and variables', async () => {
  await using sandbox = await Sandbox.fromLocal(project, { client, preset: 'agent-safe' });
  await using session = await sandbox.session();
  await session.exec('cd src && export GREETING=hi');
  const r = await session.exec('pwd; echo $GREETING');
  assert.equal(r.stdout, '/workspace/src\nhi\n');
});

test('a streamed command tells its exit code, and a session command its working directory, once read to the end', async () => {
  await using sandbox = await Sandbox.fromLocal(project, { client, preset: 'development' });
  const output = sandbox.runStream('echo out; exit 7');
  assert.equal(output.exitCode, undefined, 'nothing is known before the end');
  const chunks: string[] = [];
  for await (const { data } of output) chunks.push(String(data));
  assert.deepEqual(chunks, ['out\n']);
  assert.equal(output.exitCode, 7);
  assert.equal(output.cwd, undefined, 'one-shot commands have no session directory');

  // A command cannot forge it: the code comes from the server's wait(), not from its output.
  const forged = sandbox.runStream("printf '\\036AFEND-x\\036'; echo 'x-agentfense-exit-code: 0' >&2; false");
  for await (const _ of forged);
  assert.equal(forged.exitCode, 1);

  await using session = await sandbox.session();
  // A directory name no header could carry as text: a newline and non-ASCII bytes.
  const odd = '/workspace/output/line\nbreak-é';
  const made = session.execStream(`mkdir -p '${odd}' && cd '${odd}'`);
  for await (const _ of made);
  assert.equal(made.exitCode, 0);
  assert.equal(made.cwd, odd);
  const failed = session.execStream('cd /nonexistent; (exit 3)');
  for await (const _ of failed);
  assert.equal(failed.exitCode, 3);
  assert.equal(failed.cwd, odd, 'a failed cd leaves the directory as it was');
});

test('a streamed command tells how many codebase paths its merge changed: 0 spares the review a look', async () => {
  await using sandbox = await Sandbox.fromLocal(project, { client, preset: 'development' });
  const reads = sandbox.runStream('cat README.md > /dev/null; ls');
  for await (const _ of reads);
  assert.equal(reads.pathsMerged, 0);
  const writes = sandbox.runStream('echo a > out-1.txt; echo b > out-2.txt; rm README.md');
  for await (const _ of writes);
  assert.equal(writes.pathsMerged, 3, 'two written, one deleted');
  await using session = await sandbox.session();
  const again = session.execStream('echo c > out-1.txt');
  for await (const _ of again);
  assert.equal(again.pathsMerged, 1);
  // A command cannot forge it either: the count is the server's merge, not the output.
  const forged = session.execStream("echo 'x-agentfense-paths-merged: 0' >&2; echo d > out-2.txt");
  for await (const _ of forged);
  assert.equal(forged.pathsMerged, 1);
  // The unary Exec says it too (a trailer: sandbox.v1's ExecResult is unchanged).
  assert.equal((await sandbox.run('ls > /dev/null')).pathsMerged, 0);
  assert.equal((await sandbox.run('echo e > out-3.txt; echo f > out-4.txt')).pathsMerged, 2);
});

test('typed errors: timeout, not running, not found', async () => {
  const sandbox = await Sandbox.fromLocal(project, { client, preset: 'read-only' });
  try {
    await assert.rejects(sandbox.run('sleep 10', { timeoutMs: 500 }), CommandTimeoutError);
    await assert.rejects(sandbox.readFile('no/such/file'), FileNotFoundError);
    await sandbox.stop();
    await assert.rejects(sandbox.run('true'), SandboxNotRunningError);
  } finally {
    await sandbox.destroy({ deleteCodebase: true });
  }
  await assert.rejects(client.getSandbox(sandbox.id), SandboxNotFoundError);
});
