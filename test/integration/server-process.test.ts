/**
 * The server process: socket permissions, TCP bearer-token auth, structured logs, clean
 * shutdown, and recovery after being killed while a command runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CodebaseServiceClient, type ListCodebasesResponse } from '../../src/generated/codebase';
import type { Sandbox } from '../../src/generated/sandbox';
import { SandboxStatus } from '../../src/generated/common';
import { getPreset } from '../../src/shared/presets';
import { AS_ROOT } from '../helpers/privileges';
import { settle } from '../helpers/waitFor';
import { hostProcesses } from '../helpers/hostProcesses';
import { call, makeTempDir, SERVER_JS, startServer, wireRules } from '../helpers/server';

function bwrapProcessesUsing(dir: string): number[] {
  return hostProcesses()
    .filter((p) => p.argv.some((a) => a.endsWith('bwrap')) && p.argv.some((a) => a.startsWith(dir)))
    .map((p) => p.pid);
}
const mountsUnder = (dir: string) =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));

describe('server process', () => {
  it('creates the unix socket with mode 0600 and logs one JSON line per RPC', async () => {
    const server = await startServer();
    const socket = server.address.slice('unix:'.length);
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    await call(server.codebases, server.codebases.listCodebases, { ownerId: '', pageSize: 0, pageToken: '' });
    await call(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: 'sb_0000000000000000' }).catch(() => {});
    const rpcLinesOf = () => server.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'rpc');
    const rpcLines = await settle(rpcLinesOf, (lines) => lines.length >= 2);
    const list = rpcLines.find((l) => l.method === '/sandbox.v1.CodebaseService/ListCodebases');
    assert.equal(list.code, 'OK');
    assert.equal(typeof list.durationMs, 'number');
    assert.equal(rpcLines.find((l) => l.method === '/sandbox.v1.SandboxService/GetSandbox').code, 'NOT_FOUND');
    assert.equal(await server.stop(), 0);
    assert.equal(fs.existsSync(socket), false, 'socket removed on shutdown');
  });

  it('refuses TCP without a token file', () => {
    const dir = makeTempDir();
    const r = spawnSync(process.execPath, [SERVER_JS, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')], {
      encoding: 'utf8',
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /without --token-file/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('on TCP, requires "authorization: Bearer <token>" on every call', async () => {
    const dir = makeTempDir();
    fs.writeFileSync(join(dir, 'token'), 's3cret-token\n', { mode: 0o600 });
    const server = await startServer({
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'data'),
      args: ['--token-file', join(dir, 'token')],
    });
    const client = new CodebaseServiceClient(server.address, credentials.createInsecure());
    const list = (md: Metadata) =>
      call<ListCodebasesResponse>(client, client.listCodebases, { ownerId: '', pageSize: 0, pageToken: '' }, md);
    const withAuth = (v?: string) => {
      const md = new Metadata();
      if (v !== undefined) md.set('authorization', v);
      return md;
    };
    await assert.rejects(list(withAuth()), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    await assert.rejects(list(withAuth('Bearer wrong')), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    await assert.rejects(list(withAuth('s3cret-token')), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    assert.deepEqual((await list(withAuth('Bearer s3cret-token'))).codebases, []);
    client.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM stops sandboxes, unmounts and exits 0; they come back STOPPED', async () => {
    const dir = makeTempDir();
    const dataDir = join(dir, 'data');
    let server = await startServer({ dataDir, listen: `unix:${join(dir, 's.sock')}` });
    const cb = await server.createCodebase({ 'a.txt': 'a\n' });
    const sb = await server.startSandbox(cb, wireRules(getPreset('development')));
    await server.exec(sb, 'echo x > b.txt');
    // A root server mounts an overlay per sandbox; a non-root one copies (nothing to unmount).
    if (AS_ROOT) assert.ok(mountsUnder(dataDir).length > 0, 'overlay mounted while running');
    assert.equal(await server.stop(), 0);
    assert.deepEqual(mountsUnder(dataDir), []);
    server = await startServer({ dataDir, listen: `unix:${join(dir, 's.sock')}` });
    const got = await call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: sb });
    assert.equal(got.status, SandboxStatus.SANDBOX_STATUS_STOPPED);
    assert.equal(await server.download(cb, 'b.txt'), 'x\n');
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('after SIGKILL during a command, a restart leaves no bwrap, no mounts, and the sandbox STOPPED and usable', async () => {
    const dir = makeTempDir();
    const dataDir = join(dir, 'data');
    let server = await startServer({ dataDir, listen: `unix:${join(dir, 's.sock')}` });
    const cb = await server.createCodebase({ 'a.txt': 'a\n' });
    // With a pids limit where the server can enforce one (root): its cgroup must go too.
    const resources = AS_ROOT ? { resources: { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 } } : {};
    const sb = await server.startSandbox(cb, wireRules(getPreset('development')), resources);
    const running = server.exec(sb, 'sleep 300 & sleep 301').catch((e) => e);
    // Under a loaded CI machine a sandbox can take seconds to start: wait for it, boundedly.
    assert.ok(
      (
        await settle(
          () => bwrapProcessesUsing(dataDir),
          (p) => p.length > 0,
          20_000,
        )
      ).length > 0,
      'bwrap started',
    );
    server.proc.kill('SIGKILL');
    await server.exited;
    await running;
    server = await startServer({ dataDir, listen: `unix:${join(dir, 's.sock')}` });
    assert.deepEqual(
      await settle(
        () => bwrapProcessesUsing(dataDir),
        (p) => p.length === 0,
        20_000,
      ),
      [],
    );
    assert.deepEqual(mountsUnder(dataDir), []);
    const got = await call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: sb });
    assert.equal(got.status, SandboxStatus.SANDBOX_STATUS_STOPPED);
    await call(server.sandboxes, server.sandboxes.startSandbox, { sandboxId: sb });
    assert.equal((await server.exec(sb, 'cat a.txt')).stdout, 'a\n');
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
