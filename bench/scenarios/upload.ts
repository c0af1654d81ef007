/**
 * 5. Upload of a 10 000-file / 100 MB workspace through the extension's own path (the core's
 * WorkspaceSync over the gRPC backend, baseline persisted): the first upload, then an unchanged
 * re-upload (walk + index comparison: nothing to send). Its own workspace with its own
 * seed, so the server's content store has none of these blobs yet.
 *
 * Baselines: the same uploadFiles to a server that stores nothing (noopUploadServer.cjs:
 * what gRPC and the client cost), once through UploadBatch as to our server and once with
 * one UploadFiles call per file (the floor of a client limited to the original protocol),
 * and `cp -r` of the folder (what creating that many files costs on this disk).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AgentFenseBackend, SandboxClient, uploadFiles, walkWorkspace } from '../../src/client';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { WorkspaceSync, type SyncResult } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG, type WorkspaceRoot } from '../../src/core/workspaceRoot';
import { spawnChecked } from '../baselines';
import { nowMs } from '../stats';
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { generateWorkspace } from '../synthetic';

/** One sync, timed from the caller's side (walk to saved baseline). */
async function timedSync(sync: WorkspaceSync, root: WorkspaceRoot): Promise<SyncResult & { totalMs: number }> {
  const t0 = nowMs();
  const result = await sync.sync(root);
  return { ...result, totalMs: nowMs() - t0 };
}

export const upload: Scenario = {
  name: 'upload',
  title: '5 upload',
  async run(ctx) {
    const server = await ctx.server();
    const { uploadFiles: fileCount, uploadBytes } = ctx.sizes;
    ctx.log(`generating a ${fileCount}-file / ${(uploadBytes / 2 ** 20).toFixed(0)} MB workspace`);
    const ws = generateWorkspace(ctx.path('upload-workspace'), {
      fileCount,
      totalBytes: uploadBytes,
      seed: ctx.seed + 100,
    });
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const baselines = new BaselineStore(ctx.path('baselines'), () => 'bench');
      const sync = new WorkspaceSync(AgentFenseBackend.over(client), baselines, {
        client: 'bench',
        ignore: () => [],
        log: SILENT_LOG,
      });
      const root = { name: 'upload-workspace', path: ws.root };
      const first = await timedSync(sync, root);
      const unchanged = await timedSync(sync, root);
      if (unchanged.uploadedFiles !== 0) throw new Error(`unchanged re-upload sent ${unchanged.uploadedFiles} files`);
      const listed = (await client.listFiles(first.index.codebaseId, { recursive: true })).filter(
        (f) => !f.isDir,
      ).length;
      if (listed !== first.uploadedFiles)
        throw new Error(`codebase lists ${listed} files after uploading ${first.uploadedFiles}`);

      const noopMs = await uploadToNoopServer(ws.root, ctx.path('noop-batch.sock'), true);
      const noopPerFileMs = await uploadToNoopServer(ws.root, ctx.path('noop-per-file.sock'), false);
      const t0 = nowMs();
      await spawnChecked(['cp', '-r', ws.root, ctx.path('upload-copy')]);
      const copyMs = nowMs() - t0;

      const mb = first.uploadedBytes / 2 ** 20;
      const s = first.totalMs / 1000;
      const phases = (p: typeof first.phasesMs) =>
        Object.entries(p)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ');
      return {
        rows: [
          row({
            scenario: 'upload',
            metric: `first upload, ${first.uploadedFiles} files / ${mb.toFixed(0)} MB`,
            value: s,
            unit: 's',
            goal: goals.atMost(3, 's', s),
            note: `ms: ${phases(first.phasesMs)}`,
          }),
          row({ scenario: 'upload', metric: 'first upload files/s', value: first.uploadedFiles / s, unit: 'files/s' }),
          row({
            scenario: 'upload',
            metric: 'its uploadFiles phase vs. the same upload to a server that stores nothing',
            value: first.phasesMs.upload / 1000,
            unit: 's',
            baseline: { name: 'no-op server, UploadBatch', value: noopMs / 1000 },
          }),
          row({
            scenario: 'upload',
            metric: 'one UploadFiles call per file (the original protocol) to the no-op server',
            value: noopPerFileMs / 1000,
            unit: 's',
            note: 'what any client of the original protocol pays before a byte is stored',
          }),
          row({
            scenario: 'upload',
            metric: 'cp -r of the same folder (creating its files on this disk)',
            value: copyMs / 1000,
            unit: 's',
          }),
          row({ scenario: 'upload', metric: 'first upload MB/s', value: mb / s, unit: 'MB/s' }),
          row({
            scenario: 'upload',
            metric: 'unchanged re-upload (walk + index compare)',
            value: unchanged.totalMs / 1000,
            unit: 's',
            goal: goals.atMost(0.3, 's', unchanged.totalMs / 1000),
            note: `ms: ${phases(unchanged.phasesMs)}`,
          }),
        ],
        details: {
          generated: {
            files: ws.files.length,
            bytes: ws.totalBytes,
            note: 'walkWorkspace leaves out .git/ and .env as the extension does',
          },
          first: { ...first, index: undefined },
          noopServerUploadMs: noopMs,
          noopServerPerFileUploadMs: noopPerFileMs,
          copyMs,
          unchanged: { ...unchanged, index: undefined },
        },
      };
    } finally {
      client.close();
    }
  },
};

/** Time of uploadFiles for the folder's files against noopUploadServer.cjs. */
async function uploadToNoopServer(folder: string, socketPath: string, batch: boolean): Promise<number> {
  const server = spawn(process.execPath, [join(__dirname, '..', 'noopUploadServer.cjs'), `unix:${socketPath}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server.once('exit', (code) => reject(new Error(`the no-op upload server exited with ${code}`)));
    });
    const client = new SandboxClient({ endpoint: `unix:${socketPath}` });
    try {
      const files = await walkWorkspace(folder);
      const t0 = nowMs();
      await uploadFiles(client, 'noop', files, { batch });
      return nowMs() - t0;
    } finally {
      client.close();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => (server.exitCode === null ? server.once('exit', resolve) : resolve(undefined)));
  }
}
