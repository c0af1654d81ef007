/**
 * 13. The E2B front beside the gRPC path, on one server in one run: the first upload of the
 * workspace (gRPC: the client library's batched upload into a codebase; E2B: the official SDK's
 * files.write into a fresh `base` sandbox, a thousand files per request) and an Exec of `true`
 * round trip (gRPC Exec vs. the SDK's commands.run), p50 of each. Then the extension's cloud
 * backend (src/cloud) on the same front, as provider `custom`: the first run on the workspace
 * (local store, push of every file, the command, the listing) and a run of `true` after it
 * (nothing to push, the command, the listing and its comparison) against the bare SDK call.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Sandbox } from 'e2b';
import { SandboxClient, uploadFiles, walkWorkspace } from '../../src/client';
import type { Scenario } from '../scenario';
import { row } from '../report';
import { median, nowMs } from '../stats';
import { startServer } from '../server';
import { generateWorkspace } from '../synthetic';
import { E2bBackend } from '../../src/cloud/e2bBackend';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { SandboxProvisioner } from '../../src/core/run/sandboxProvisioner';
import { WorkspaceSync } from '../../src/core/sync/workspaceSync';
import { SILENT_LOG } from '../../src/core/workspaceRoot';
import { NETWORK_OFF } from '../../src/shared/networkPolicy';
import { getPreset } from '../../src/shared/presets';
import { BWRAP } from '../../src/shared/sandboxRuntime';

const FILES_PER_REQUEST = 1000;

export const e2bFront: Scenario = {
  name: 'e2b',
  title: '13 E2B front',
  async run(ctx) {
    const key = `e2b_${randomBytes(16).toString('hex')}`;
    const keyFile = ctx.path('e2b.key');
    await writeFile(keyFile, key, { mode: 0o600 });
    const server = await startServer(ctx.path('e2b-server'), [
      '--e2b-listen',
      '127.0.0.1:0',
      '--e2b-key-file',
      keyFile,
    ]);
    const listening = server
      .log()
      .split('\n')
      .find((l) => l.includes('"event":"listening"'));
    const url = (JSON.parse(listening ?? '{}') as { e2b?: string }).e2b;
    if (!url) throw new Error(`the server did not report its E2B address:\n${server.log()}`);
    const opts = { apiKey: key, apiUrl: url, sandboxUrl: url };
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const workspace = generateWorkspace(ctx.path('e2b-workspace'), {
        fileCount: ctx.sizes.codebaseFiles,
        totalBytes: ctx.sizes.codebaseBytes,
        seed: ctx.seed,
      });
      const files = await walkWorkspace(workspace.root);
      ctx.log(`gRPC: uploading ${files.length} files`);
      let t0 = nowMs();
      const codebase = await client.createCodebase('bench-e2b-grpc', 'bench');
      await uploadFiles(client, codebase.id, files);
      const grpcUpload = nowMs() - t0;

      ctx.log(`E2B: uploading ${files.length} files through the front`);
      t0 = nowMs();
      const sbx = await Sandbox.create('base', { ...opts, timeoutMs: 3_600_000 });
      for (let i = 0; i < files.length; i += FILES_PER_REQUEST) {
        const batch = await Promise.all(
          files.slice(i, i + FILES_PER_REQUEST).map(async (f) => ({
            path: f.path,
            data: new Blob([await readFile(join(workspace.root, f.path))]),
          })),
        );
        await sbx.files.write(batch);
      }
      const e2bUpload = nowMs() - t0;

      const calls = ctx.quick ? 5 : 100;
      const grpcSandbox = await client.createSandbox(codebase.id, {
        permissions: [{ pattern: '**/*', permission: 'write' }],
      });
      await client.startSandbox(grpcSandbox.id);
      const grpcExec: number[] = [];
      const e2bExec: number[] = [];
      for (let i = 0; i < calls + 3; i++) {
        t0 = nowMs();
        await client.exec(grpcSandbox.id, 'true');
        if (i >= 3) grpcExec.push(nowMs() - t0);
        t0 = nowMs();
        await sbx.commands.run('true');
        if (i >= 3) e2bExec.push(nowMs() - t0);
      }
      await sbx.kill();
      await client.destroySandbox(grpcSandbox.id);

      ctx.log('cloud backend: first run (store, push, run, list)');
      const cloud = new E2bBackend({
        settings: () => ({ provider: 'custom', apiUrl: url, template: 'base', timeoutMs: 3_600_000 }),
        apiKey: () => Promise.resolve(key),
        storageDir: ctx.path('cloud-backend'),
      });
      const sync = new WorkspaceSync(cloud, new BaselineStore(ctx.path('cloud-baselines'), () => 'bench'), {
        client: 'bench',
        ignore: () => [],
        log: SILENT_LOG,
        confirmOverwrite: async () => true,
      });
      const provisioner = new SandboxProvisioner(cloud, sync, {
        client: 'bench',
        rulesOf: () => getPreset('development'),
        networkOf: () => NETWORK_OFF,
        runtimeOf: () => BWRAP,
      });
      t0 = nowMs();
      const target = await provisioner.ensureSandbox({ name: 'bench', path: workspace.root }, 'development');
      await cloud.exec(target.sandbox.id, 'true');
      const cloudFirstRun = nowMs() - t0;
      const cloudExec: number[] = [];
      for (let i = 0; i < calls + 3; i++) {
        t0 = nowMs();
        await cloud.exec(target.sandbox.id, 'true');
        if (i >= 3) cloudExec.push(nowMs() - t0);
      }
      await cloud.destroySandbox(target.sandbox.id);
      return {
        rows: [
          row({
            scenario: 'e2b',
            metric: `first upload, ${files.length} files, E2B front (SDK files.write, ${FILES_PER_REQUEST} per request)`,
            value: e2bUpload,
            unit: 'ms',
            baseline: { name: 'gRPC (UploadBatch)', value: grpcUpload },
          }),
          row({
            scenario: 'e2b',
            metric: `exec \`true\` round trip p50, E2B front (SDK commands.run), ${calls} calls`,
            value: median(e2bExec),
            unit: 'ms',
            baseline: { name: 'gRPC Exec', value: median(grpcExec) },
          }),
          row({
            scenario: 'e2b',
            metric: `first run on ${files.length} files, cloud backend over the front (store, push, run, list)`,
            value: cloudFirstRun,
            unit: 'ms',
            baseline: { name: 'SDK files.write of the same files', value: e2bUpload },
          }),
          row({
            scenario: 'e2b',
            metric: `run \`true\` p50, cloud backend over the front (command + listing + compare), ${calls} calls`,
            value: median(cloudExec),
            unit: 'ms',
            baseline: { name: 'SDK commands.run', value: median(e2bExec) },
          }),
        ],
        details: { files: files.length, calls, grpcUpload, e2bUpload, grpcExec, e2bExec, cloudFirstRun, cloudExec },
      };
    } finally {
      client.close();
      await server.stop();
    }
  },
};
