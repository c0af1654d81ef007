/**
 * Faults: the server is SIGKILLed during an upload, an exec, a session and a merge, then
 * restarted on the same data dir. Every codebase must be consistent (each file exactly its
 * old or its new content), no sandbox process or mount may be left behind, and a client that
 * retries reconnects. A full disk during an upload or a merge fails the call cleanly and keeps
 * the previous content.
 *
 *   node --import tsx --test test/reliability/faults.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { SandboxClient } from '../../src/client';
import { rootOnly } from '../helpers/privileges';
import {
  agentSafeRules,
  bwrapProcesses,
  codeName,
  mountsUnder,
  sandboxProcessesOf,
  sha256,
  sleep,
  startServer,
  waitFor,
  type ServerHandle,
} from '../security/lib/harness';

/** A call retried until it works (what a client with retries does), bounded in time. */
async function withRetries<T>(fn: () => Promise<T>, ms = 20_000): Promise<{ value: T; tries: number }> {
  const end = Date.now() + ms;
  for (let tries = 1; ; tries++) {
    try {
      return { value: await fn(), tries };
    } catch (e) {
      const code = (e as ServiceError).code;
      if (Date.now() > end || (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED)) throw e;
      await sleep(Math.min(1000, 50 * 2 ** Math.min(tries, 5)));
    }
  }
}

/** Each file is exactly one of its allowed versions (or absent when absence is allowed). */
async function assertConsistent(
  srv: ServerHandle,
  codebaseId: string,
  allowed: Map<string, Set<string>>,
  what: string,
) {
  const listed = new Map((await srv.listFiles(codebaseId)).filter((f) => !f.isDir).map((f) => [f.path, f.size]));
  let old = 0;
  let fresh = 0;
  let absent = 0;
  for (const [path, versions] of allowed) {
    if (!listed.has(path)) {
      assert.ok(versions.has('absent'), `${what}: ${path} disappeared`);
      absent++;
      continue;
    }
    const got = await srv.download(codebaseId, path);
    const digest = sha256(got);
    assert.ok(versions.has(digest), `${what}: ${path} (${got.length} bytes) is neither its old nor its new content`);
    assert.equal(listed.get(path), got.length, `${what}: ${path} listed size matches its content`);
    if ([...versions][0] === digest) old++;
    else fresh++;
  }
  return { old, fresh, absent };
}

/** Nothing of the killed server is left: no sandbox process, no mount under the data dir. */
async function assertNothingLeft(srv: ServerHandle, what: string) {
  const procs = await waitFor(
    () => [...sandboxProcessesOf(srv.dataDir), ...bwrapProcesses().filter((p) => p.cmd.includes(srv.dataDir))],
    (v) => v.length === 0,
    10_000,
  );
  assert.deepEqual(
    procs.map((p) => `${p.pid} ${p.cmd.slice(0, 80)}`),
    [],
    `${what}: sandbox processes left behind`,
  );
  const mounts = await waitFor(
    () => mountsUnder(srv.dataDir),
    (v) => v.length === 0,
    10_000,
  );
  assert.deepEqual(mounts, [], `${what}: mounts left under the data dir`);
}

async function killAndRestart(srv: ServerHandle, what: string) {
  await srv.kill();
  // The processes must die with the server (bwrap --die-with-parent); the mounts are the
  // restarted server's job.
  const procs = await waitFor(
    () => sandboxProcessesOf(srv.dataDir),
    (v) => v.length === 0,
    10_000,
  );
  assert.deepEqual(
    procs.map((p) => p.cmd.slice(0, 80)),
    [],
    `${what}: sandbox processes survived the SIGKILL`,
  );
  const mountsAfterKill = mountsUnder(srv.dataDir).length;
  await srv.restart();
  // The old client objects reconnect by themselves.
  const { tries } = await withRetries(() =>
    srv.unary(
      'codebase',
      'listCodebases',
      { ownerId: '', pageSize: 10, pageToken: '' },
      { deadline: Date.now() + 2000 },
    ),
  );
  await assertNothingLeft(srv, `${what} (after restart)`);
  return { tries, mountsAfterKill };
}

describe('SIGKILL and restart on the same data dir', () => {
  it('during an upload: each file is its old or its new content', async () => {
    const srv = await startServer();
    try {
      const cb = (await srv.createCodebase('kill-upload')).id;
      const allowed = new Map<string, Set<string>>();
      const olds = new Map<string, Buffer>();
      for (let i = 0; i < 12; i++) {
        const old = randomBytes(100_000 + i);
        olds.set(`f${i}.bin`, old);
        await srv.upload(cb, `f${i}.bin`, old);
      }
      const news = new Map<string, Buffer>();
      for (let i = 0; i < 12; i++) news.set(`f${i}.bin`, randomBytes(1_500_000 + i * 1000));
      for (let i = 0; i < 4; i++) news.set(`new${i}.bin`, randomBytes(1_000_000));
      for (const [p, n] of news) allowed.set(p, new Set([olds.has(p) ? sha256(olds.get(p)!) : 'absent', sha256(n)]));
      let done = 0;
      const uploads = [...news].map(([p, n]) =>
        srv.upload(cb, p, n, { chunkSize: 16 * 1024 }).then(
          () => (done++, 'ok'),
          (e) => codeName(e.code),
        ),
      );
      // Kill once some uploads have finished and the others are mid-stream.
      await waitFor(
        () => done,
        (d) => d >= 3,
        15_000,
        2,
      );
      const r = await killAndRestart(srv, 'upload');
      const outcomes = await Promise.all(uploads);
      const c = await assertConsistent(srv, cb, allowed, 'upload');
      console.log(
        `kill during upload: calls ${JSON.stringify(countBy(outcomes))}; files old ${c.old}, new ${c.fresh}, absent ${c.absent}; reconnect after ${r.tries} tries`,
      );
      // The next upload works.
      await srv.upload(cb, 'after.txt', 'after restart');
      assert.equal((await srv.download(cb, 'after.txt')).toString(), 'after restart');
    } finally {
      await srv.stop();
    }
  });

  it('during an UploadBatch: every answered file is stored, every file old or new', async () => {
    const srv = await startServer();
    const client = new SandboxClient({ endpoint: srv.address });
    try {
      const cb = (await srv.createCodebase('kill-batch')).id;
      const allowed = new Map<string, Set<string>>();
      const olds = new Map<string, Buffer>();
      for (let i = 0; i < 40; i++) {
        const old = randomBytes(20_000 + i);
        olds.set(`b${i}.bin`, old);
        await srv.upload(cb, `b${i}.bin`, old);
      }
      const news = new Map<string, Buffer>();
      for (let i = 0; i < 400; i++) news.set(`b${i}.bin`, randomBytes(i % 50 === 0 ? 2_000_000 : 30_000 + i));
      for (const [p, n] of news) allowed.set(p, new Set([olds.has(p) ? sha256(olds.get(p)!) : 'absent', sha256(n)]));
      const answered: { path: string; checksum: string }[] = [];
      const queue = [...news][Symbol.iterator]();
      const files = {
        next: () => {
          const n = queue.next();
          return n.done
            ? n
            : { value: { path: n.value[0], read: () => ({ size: n.value[1].length, content: n.value[1] }) } };
        },
      };
      const upload = client
        .uploadBatch(cb, files, { onResult: (r) => answered.push({ path: r.filePath, checksum: r.checksum }) })
        .then(
          () => 'ok',
          (e) => codeName(e.code),
        );
      await waitFor(
        () => answered.length,
        (n) => n >= 30,
        15_000,
        2,
      );
      const r = await killAndRestart(srv, 'UploadBatch');
      const outcome = await upload;
      assert.notEqual(outcome, 'ok', 'the killed call did not succeed');
      const c = await assertConsistent(srv, cb, allowed, 'UploadBatch');
      // What the server answered before it died was durable.
      for (const a of answered)
        assert.equal(sha256(await srv.download(cb, a.path)), a.checksum, `${a.path} was answered, so it is stored`);
      console.log(
        `kill during UploadBatch: call ${outcome}; ${answered.length} files answered; files old ${c.old}, new ${c.fresh}, absent ${c.absent}; reconnect after ${r.tries} tries`,
      );
      const after = await client.uploadBatch(
        cb,
        [{ path: 'after.txt', read: () => ({ size: 5, content: 'after' }) }][Symbol.iterator](),
      );
      assert.equal(after[0]!.size, 5);
    } finally {
      client.close();
      await srv.stop();
    }
  });

  it('during an exec and during a session: no process or mount survives', async () => {
    const srv = await startServer();
    try {
      const cb = (await srv.createCodebase('kill-exec')).id;
      await srv.upload(cb, 'README.md', 'hello\n');
      const sb = (await srv.createSandbox(cb, agentSafeRules())).id;
      const s = await srv.createSession(sb);
      await srv.sessionExec(s.id, 'sleep 987 >/dev/null 2>&1 & echo bg');
      const running = srv.exec(sb, 'echo x > /workspace/output/partial; sleep 60').then(
        () => 'ok',
        (e) => codeName(e.code),
      );
      await waitFor(
        () => sandboxProcessesOf(srv.dataDir).length,
        (n) => n >= 4,
        5000,
      );
      const before = sandboxProcessesOf(srv.dataDir).length;
      const r = await killAndRestart(srv, 'exec+session');
      console.log(
        `kill during exec+session: ${before} sandbox processes before, exec call → ${await running}; mounts right after the kill ${r.mountsAfterKill}; reconnect after ${r.tries} tries`,
      );
      // The sandbox record may survive or not; either way the codebase answers and a new sandbox works.
      assert.equal((await srv.download(cb, 'README.md')).toString(), 'hello\n');
      const sb2 = (await srv.createSandbox(cb, agentSafeRules())).id;
      assert.equal((await srv.exec(sb2, 'cat README.md')).stdout, 'hello\n');
      await srv.destroySandbox(sb2);
    } finally {
      await srv.stop();
    }
  });

  it('during a merge of many files: each file is its old or its new content', async () => {
    const srv = await startServer();
    try {
      const cb = (await srv.createCodebase('kill-merge')).id;
      const N = 800;
      const allowed = new Map<string, Set<string>>();
      // Old versions, uploaded; new versions written by the command.
      for (let i = 0; i < N; i += 1) {
        if (i % 3 === 0) {
          const old = `v1 ${i}\n`;
          await srv.upload(cb, `output/f${i}`, old);
          allowed.set(`output/f${i}`, new Set([sha256(old), sha256(`v2 ${i}\n`)]));
        } else allowed.set(`output/f${i}`, new Set(['absent', sha256(`v2 ${i}\n`)]));
      }
      const sb = (await srv.createSandbox(cb, agentSafeRules())).id;
      const t0 = Date.now();
      const exec = srv
        .exec(
          sb,
          `cd /workspace/output && i=0; while [ $i -lt ${N} ]; do echo "v2 $i" > f$i; i=$((i+1)); done; echo wrote`,
        )
        .then(
          (r) => `ok ${r.stdout.trim()}`,
          (e) => codeName(e.code),
        );
      // Kill while the server merges: the last file exists in the layer, the call has not returned.
      const last = `f${N - 1}`;
      const found = await waitFor(
        () => findFile(join(srv.dataDir, 'sandboxes'), last, 6),
        (v) => !!v,
        30_000,
        5,
      );
      await sleep(20);
      const settled = await Promise.race([
        exec.then((x) => `returned before the kill: ${x}`),
        sleep(0).then(() => 'pending'),
      ]);
      const r = await killAndRestart(srv, 'merge');
      const c = await assertConsistent(srv, cb, allowed, 'merge');
      console.log(
        `kill during merge (${N} files, layer file seen after ${Date.now() - t0} ms: ${!!found}; call ${settled}): files old ${c.old}, new ${c.fresh}, absent ${c.absent}; reconnect after ${r.tries} tries`,
      );
      const sb2 = (await srv.createSandbox(cb, agentSafeRules())).id;
      assert.match((await srv.exec(sb2, 'ls /workspace/output | wc -l')).stdout, /^\d+\n$/);
      await srv.destroySandbox(sb2);
    } finally {
      await srv.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with a live sandbox leaves no mount and no process behind', async () => {
    const srv = await startServer();
    try {
      const cb = (await srv.createCodebase('sigterm')).id;
      await srv.upload(cb, 'README.md', 'x\n');
      const sb = (await srv.createSandbox(cb, agentSafeRules())).id;
      await srv.exec(sb, 'echo y > /workspace/output/y');
      const s = await srv.createSession(sb);
      await srv.sessionExec(s.id, 'echo session');
      const before = mountsUnder(srv.dataDir).length;
      srv.closeClients();
      srv.proc.kill('SIGTERM');
      await waitFor(
        () => srv.alive(),
        (a) => !a,
        15_000,
      );
      assert.ok(!srv.alive(), 'the server exits on SIGTERM');
      const procs = await waitFor(
        () => sandboxProcessesOf(srv.dataDir),
        (v) => v.length === 0,
        5000,
      );
      const mounts = mountsUnder(srv.dataDir);
      console.log(
        `SIGTERM with a live sandbox: mounts ${before} before, ${mounts.length} after exit; sandbox processes after ${procs.length}`,
      );
      assert.deepEqual(
        procs.map((p) => p.cmd.slice(-60)),
        [],
        'no sandbox process after SIGTERM',
      );
      assert.deepEqual(mounts, [], 'no mount under the data dir after SIGTERM');
    } finally {
      for (const m of mountsUnder(srv.dataDir).reverse()) spawnQuiet('umount', ['-l', m]);
      await srv.stop();
    }
  });
});

describe('a full disk (8 MiB tmpfs as the data dir)', rootOnly('mounts a tmpfs'), () => {
  it('fails uploads and merges cleanly and keeps the previous content', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'af-fulldisk-'));
    execFileSync('chmod', ['0755', mnt]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', mnt]);
    let srv: ServerHandle | undefined;
    try {
      const dataDir = join(mnt, 'data');
      mkdirSync(dataDir, { mode: 0o755 });
      srv = await startServer({ dataDir });
      const cb = (await srv.createCodebase('full')).id;
      const v1 = randomBytes(1024 * 1024);
      await srv.upload(cb, 'output/data.bin', v1);
      await srv.upload(cb, 'keep.txt', 'keep me\n');

      // Upload larger than the disk: a clean RESOURCE_EXHAUSTED, old content kept.
      const big = await srv.upload(cb, 'output/data.bin', randomBytes(12 * 1024 * 1024)).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      assert.ok(big, 'a 12 MiB upload into 8 MiB cannot succeed');
      assert.equal(
        big.code,
        status.RESOURCE_EXHAUSTED,
        `upload on a full disk: ${codeName(big.code)} "${big.details}"`,
      );
      assert.match(big.details, /disk|space/i);
      assert.equal(
        sha256(await srv.download(cb, 'output/data.bin')),
        sha256(v1),
        'old content kept after the failed upload',
      );
      assert.ok(await srv.healthy());

      // Merge that needs more room than is left: the command's layer holds 5 MiB, staging and
      // the blob need as much again.
      const sb = (await srv.createSandbox(cb, agentSafeRules())).id;
      const merged = await srv.exec(sb, 'head -c 5000000 /dev/urandom > /workspace/output/data.bin; echo rc=$?').then(
        (r) => ({ ok: true as const, r }),
        (e: ServiceError) => ({ ok: false as const, e }),
      );
      const ok = merged.ok;
      console.log(
        `full disk: upload → ${codeName(big.code)} "${big.details}"; merge → ${merged.ok ? 'OK ' + JSON.stringify(merged.r.stdout + merged.r.stderr).slice(0, 120) : codeName(merged.e.code) + ' "' + merged.e.details + '"'}`,
      );
      const now = await srv.download(cb, 'output/data.bin');
      if (ok) {
        // Only acceptable if the command itself hit ENOSPC and nothing changed.
        assert.equal(sha256(now), sha256(v1), 'a merge that "succeeded" on a full disk must not have changed the file');
      } else {
        assert.equal(
          merged.e.code,
          status.RESOURCE_EXHAUSTED,
          `merge on a full disk: ${codeName(merged.e.code)} "${merged.e.details}"`,
        );
        assert.ok(
          now.length === v1.length && sha256(now) === sha256(v1),
          'previous content kept after the failed merge',
        );
      }
      assert.equal((await srv.download(cb, 'keep.txt')).toString(), 'keep me\n');
      assert.ok(await srv.healthy(), 'the server still answers');
      await srv.destroySandbox(sb).catch(() => undefined);
    } finally {
      await srv?.stop();
      for (let i = 0; i < 5; i++) {
        for (const m of mountsUnder(mnt).reverse()) if (m !== mnt) spawnQuiet('umount', ['-l', m]);
        try {
          execFileSync('umount', [mnt]);
          break;
        } catch {
          await sleep(300);
        }
      }
      if (mountsUnder(mnt).length) execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});

function spawnQuiet(cmd: string, args: string[]) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    /* best effort */
  }
}

function countBy(xs: string[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const x of xs) o[x] = (o[x] ?? 0) + 1;
  return o;
}

/** First path named `name` under `dir` (bounded depth). */
function findFile(dir: string, name: string, depth: number): string | undefined {
  if (depth < 0 || !existsSync(dir)) return undefined;
  let entries: import('node:fs').Dirent[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.name === name && e.isFile()) return join(dir, name);
  for (const e of entries) {
    if (e.isDirectory()) {
      const r = findFile(join(dir, e.name), name, depth - 1);
      if (r) return r;
    }
  }
  return undefined;
}
