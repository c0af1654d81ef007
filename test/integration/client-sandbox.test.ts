// The high-level Sandbox against the in-process FakeServer over a real unix-socket gRPC connection.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  CommandExecutionError,
  CommandTimeoutError,
  Sandbox,
  SandboxClient,
  SandboxNotFoundError,
  SandboxNotRunningError,
  SessionClosedError,
  TerminalUnsupportedError,
  FileNotFoundError,
  getPreset,
  type UploadProgress,
} from '../../src/client';
import { FakeServer } from '../helpers/fakeServer';

let server: FakeServer;
let project: string;

async function write(rel: string, content: string | Buffer) {
  const abs = join(project, rel);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
}

before(async () => {
  server = await FakeServer.start();
  project = await mkdtemp(join(tmpdir(), 'af-project-'));
  await write('src/app.py', 'print("hi")\n');
  await write('README.md', '# demo\n');
  await write('big.bin', Buffer.alloc(200 * 1024, 7));
  await write('.gitignore', '*.log\nbuild/\n');
  await write('debug.log', 'ignored by .gitignore');
  await write('build/out.js', 'ignored directory');
  await write('node_modules/x/index.js', 'default ignore');
  await write('.git/config', 'default ignore');
  await write('src/.gitignore', 'generated.py\n!keep.log\n');
  await write('src/generated.py', 'ignored by nested .gitignore');
  await write('src/keep.log', 're-included by nested negation');
  await write('.sandboxignore', 'private/\n');
  await write('private/notes.txt', 'ignored by .sandboxignore');
  await write('scratch.tmp', 'ignored by the caller');
});

after(async () => {
  await server.stop();
  await rm(project, { recursive: true, force: true });
});

describe('Sandbox.fromLocal', () => {
  test('uploads the non-ignored files with progress, creates and starts the sandbox', async () => {
    const reports: UploadProgress[] = [];
    const sandbox = await Sandbox.fromLocal(project, {
      endpoint: server.endpoint,
      preset: 'agent-safe',
      ignore: ['*.tmp'],
      labels: { team: 'qa' },
      onProgress: (p) => reports.push(p),
      concurrency: 3,
    });
    try {
      const codebase = server.codebases.get(sandbox.codebaseId)!;
      assert.deepEqual([...codebase.files.keys()].sort(), [
        '.gitignore',
        '.sandboxignore',
        'README.md',
        'big.bin',
        'src/.gitignore',
        'src/app.py',
        'src/keep.log',
      ]);
      assert.equal(codebase.files.get('big.bin')!.length, 200 * 1024);
      // 200 KiB in 64 KiB chunks.
      assert.deepEqual(server.uploads.find((u) => u.filePath === 'big.bin')!.chunkSizes, [65536, 65536, 65536, 8192]);

      const last = reports.at(-1)!;
      assert.equal(last.filesDone, 7);
      assert.equal(last.filesTotal, 7);
      assert.equal(last.bytesDone, last.bytesTotal);
      assert.ok(
        reports.some((r) => r.currentFile === 'big.bin' && r.filesDone < 7),
        'byte-level progress while big.bin uploads',
      );
      for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.bytesDone >= reports[i - 1]!.bytesDone);

      assert.equal(sandbox.status, 'running');
      assert.deepEqual(sandbox.info.labels, { team: 'qa' });
      assert.deepEqual(sandbox.info.permissions, getPreset('agent-safe'));
    } finally {
      await sandbox.destroy();
    }
    assert.equal(server.sandboxes.size, 0);
  });

  test('defaults to the view-only preset and appends the caller rules', async () => {
    await using sandbox = await Sandbox.fromLocal(project, {
      endpoint: server.endpoint,
      permissions: [{ pattern: '/output/**', permission: 'write', priority: 5 }],
    });
    assert.deepEqual(sandbox.info.permissions, [
      ...getPreset('view-only'),
      { pattern: '/output/**', permission: 'write', type: 'glob', priority: 5 },
    ]);
  });

  test('a bad rule is rejected before anything is created', async () => {
    const before = server.codebases.size;
    await assert.rejects(
      Sandbox.fromLocal(project, {
        endpoint: server.endpoint,
        permissions: [{ pattern: '/x', permission: 'admin' as never }],
      }),
      (err: Error) =>
        err.name === 'InvalidConfigurationError' && /#1 \("\/x"\).*unknown permission "admin"/.test(err.message),
    );
    assert.equal(server.codebases.size, before);
  });

  test('a failure after the upload removes the codebase it created', async () => {
    const before = server.codebases.size;
    server.failNext('createSandbox', { code: status.RESOURCE_EXHAUSTED, details: 'too many sandboxes' });
    await assert.rejects(Sandbox.fromLocal(project, { endpoint: server.endpoint }), /too many sandboxes/);
    assert.equal(server.codebases.size, before);
  });

  test('aborting the upload rejects with the reason and cleans up', async () => {
    const before = server.codebases.size;
    const ac = new AbortController();
    const reason = new Error('user cancelled');
    await assert.rejects(
      Sandbox.fromLocal(project, {
        endpoint: server.endpoint,
        signal: ac.signal,
        concurrency: 1,
        onProgress: () => ac.abort(reason),
      }),
      (err) => err === reason,
    );
    assert.equal(server.codebases.size, before);
  });
});

describe('Sandbox commands and files', () => {
  let client: SandboxClient;
  let sandbox: Sandbox;

  before(async () => {
    client = new SandboxClient({ endpoint: server.endpoint });
    sandbox = await Sandbox.fromLocal(project, { client, preset: 'development' });
  });
  after(async () => {
    await sandbox.destroy();
    client.close();
  });

  test("a server without AgentFense's terminal extension says so, so the caller can fall back to a session", async () => {
    const end = await sandbox.terminal({ rows: 24, cols: 80 }).end;
    assert.ok('error' in end && end.error instanceof TerminalUnsupportedError, JSON.stringify(end));
    assert.match(end.error.message, /no interactive terminal/);
  });

  test('run returns output, exit code and duration; sends env, workdir, stdin and the timeout', async () => {
    const result = await sandbox.run('echo $GREETING', {
      env: { GREETING: 'hello' },
      workdir: '/workspace/src',
      stdin: 'in',
    });
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.exitCode, 0);
    assert.ok(result.durationMs >= 0);
    const req = server.callsOf('exec').at(-1)!.request as {
      workdir: string;
      stdin: string;
      timeout: { seconds: number };
    };
    assert.equal(req.workdir, '/workspace/src');
    assert.equal(req.stdin, 'in');
    assert.equal(req.timeout.seconds, 60, 'run defaults to 60 s like the SDK');
  });

  test('raiseOnError throws CommandExecutionError carrying the result', async () => {
    assert.equal((await sandbox.run('exit 3')).exitCode, 3);
    await assert.rejects(sandbox.run('err boom', { raiseOnError: true }), (err: CommandExecutionError) => {
      assert.ok(err instanceof CommandExecutionError);
      assert.equal(err.exitCode, 1);
      assert.equal(err.result.stderr, 'boom\n');
      assert.equal(err.command, 'err boom');
      return true;
    });
  });

  test('a server-side command timeout is a CommandTimeoutError', async () => {
    await assert.rejects(sandbox.run('sleep 500', { timeoutMs: 30 }), (err: CommandTimeoutError) => {
      assert.ok(err instanceof CommandTimeoutError);
      assert.equal(err.code, status.DEADLINE_EXCEEDED);
      assert.equal(err.timeoutMs, 30);
      assert.match(err.serverMessage, /timed out/);
      return true;
    });
  });

  test('runStream yields stdout and stderr chunks', async () => {
    const chunks = [];
    for await (const c of sandbox.runStream('err oops')) chunks.push(c);
    assert.deepEqual(
      chunks.map((c) => [c.stream, c.data.toString()]),
      [['stderr', 'oops\n']],
    );
  });

  test('aborting runStream cancels the call on the server and rejects with the reason', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const reason = new Error('stop');
    await assert.rejects(
      (async () => {
        for await (const c of sandbox.runStream('forever', { signal: ac.signal })) {
          seen.push(c.data.toString());
          if (seen.length === 2) ac.abort(reason);
        }
      })(),
      (err) => err === reason,
    );
    await server.waitForCancel('execStream');
    assert.deepEqual(seen, ['tick 0\n', 'tick 1\n']);
  });

  test('breaking out of runStream cancels the call on the server', async () => {
    const before = server.cancelled.filter((m) => m === 'execStream').length;
    for await (const c of sandbox.runStream('forever')) {
      assert.equal(c.stream, 'stdout');
      break;
    }
    await server.waitForCancel('execStream', before + 1);
    assert.deepEqual(
      server.cancelled.filter((m) => m !== 'execStream'),
      [],
      'nothing else was cancelled',
    );
  });

  test('aborting run cancels the Exec call on the server', async () => {
    const ac = new AbortController();
    const reason = new Error('enough');
    const before = server.cancelled.filter((m) => m === 'exec').length;
    setTimeout(() => ac.abort(reason), 50);
    await assert.rejects(sandbox.run('sleep 2000', { signal: ac.signal }), (err) => err === reason);
    await server.waitForCancel('exec', before + 1);
  });

  test('readFile sees what a command wrote, with or without /workspace', async () => {
    await sandbox.run('write output/report.txt all good');
    assert.equal((await sandbox.readFile('/workspace/output/report.txt')).toString(), 'all good');
    assert.equal((await sandbox.readFile('output/report.txt')).toString(), 'all good');
    await assert.rejects(sandbox.readFile('/workspace/missing.txt'), (err: FileNotFoundError) => {
      assert.ok(err instanceof FileNotFoundError);
      assert.equal(err.filePath, 'missing.txt');
      assert.equal(err.codebaseId, sandbox.codebaseId);
      return true;
    });
    await assert.rejects(sandbox.readFile('/workspace/../etc/passwd'), { name: 'InvalidConfigurationError' });
  });

  test('listFiles lists a directory and recursively', async () => {
    const top = await sandbox.listFiles('/workspace/src');
    assert.deepEqual(top.map((f) => f.path).sort(), ['src/.gitignore', 'src/app.py', 'src/keep.log']);
    const all = await sandbox.listFiles('', true);
    assert.ok(all.some((f) => f.path === 'src/app.py' && !f.isDir && f.size === 12));
  });

  test('sessions keep state between commands and close', async () => {
    const session = await sandbox.session({ env: { A: '1' } });
    assert.equal(session.info.shell, '/bin/bash');
    await session.exec('cd /workspace/src');
    await session.exec('export B=2');
    assert.equal((await session.exec('pwd')).stdout, '/workspace/src\n');
    assert.equal((await session.exec('echo $A$B')).stdout, '12\n');
    const streamed = [];
    for await (const c of session.execStream('echo streamed')) streamed.push(c.data.toString());
    assert.deepEqual(streamed, ['streamed\n']);
    assert.equal((await client.listSessions(sandbox.id)).length, 1);
    await session.close();
    await session.close(); // twice is fine
    assert.equal(server.sessions.size, 0);
    await assert.rejects(session.exec('pwd'), SessionClosedError);
  });

  test('await using closes a session', async () => {
    {
      await using session = await sandbox.session();
      await session.exec('pwd');
      assert.equal(server.sessions.size, 1);
    }
    assert.equal(server.sessions.size, 0);
  });

  test('stop then run gives SandboxNotRunningError; start makes it run again', async () => {
    await sandbox.stop();
    assert.equal(sandbox.status, 'stopped');
    await assert.rejects(sandbox.run('echo x'), (err: SandboxNotRunningError) => {
      assert.ok(err instanceof SandboxNotRunningError);
      assert.equal(err.sandboxId, sandbox.id);
      assert.equal(err.serverMessage, 'sandbox is not running');
      return true;
    });
    await sandbox.start();
    assert.equal((await sandbox.refresh()).status, 'running');
  });
});

describe('Sandbox lifecycle', () => {
  test('await using destroys the sandbox and deletes the codebase fromLocal created', async () => {
    let ids: { sb: string; cb: string };
    {
      await using sandbox = await Sandbox.fromLocal(project, { endpoint: server.endpoint, preset: 'agent-safe' });
      ids = { sb: sandbox.id, cb: sandbox.codebaseId };
      assert.ok(server.sandboxes.has(ids.sb));
    }
    assert.ok(!server.sandboxes.has(ids.sb));
    assert.ok(!server.codebases.has(ids.cb));
  });

  test('fromCodebase and connect leave the codebase alone unless asked', async () => {
    const cb = server.seedCodebase({ 'a.txt': 'A' });
    const first = await Sandbox.fromCodebase(cb.id, {
      endpoint: server.endpoint,
      preset: 'read-only',
      autoStart: false,
    });
    assert.equal(first.status, 'pending');
    const again = await Sandbox.connect(first.id, { endpoint: server.endpoint });
    assert.equal(again.codebaseId, cb.id);
    await again.destroy();
    await first.destroy(); // already gone: still fine
    assert.ok(server.codebases.has(cb.id));

    const second = await Sandbox.fromCodebase(cb.id, { endpoint: server.endpoint });
    await second.destroy({ deleteCodebase: true });
    assert.ok(!server.codebases.has(cb.id));
  });

  test('connect to an unknown sandbox is a SandboxNotFoundError', async () => {
    await assert.rejects(Sandbox.connect('sb_nope', { endpoint: server.endpoint }), (err: SandboxNotFoundError) => {
      assert.ok(err instanceof SandboxNotFoundError);
      assert.equal(err.sandboxId, 'sb_nope');
      assert.equal(err.serverMessage, 'sandbox sb_nope not found');
      return true;
    });
  });

  test('a given client is not closed by the sandbox', async () => {
    const client = new SandboxClient({ endpoint: server.endpoint });
    const sandbox = await Sandbox.fromLocal(project, { client });
    await sandbox.destroy();
    assert.ok((await client.listCodebases()).codebases.length >= 0); // still usable
    client.close();
  });
});
