/**
 * 12. The Docker runtime beside bubblewrap, in one run: create+start and Exec of `true` (p50,
 * p99) for a Docker sandbox and a bubblewrap sandbox of the same small codebase on one server,
 * and a bare Docker exec of `true` (Engine API: create, start, read to the end, inspect) in the
 * same container — what the engine costs before we add anything. Goal: our exec ≤ 1.3× bare.
 *
 * The engine is private (scripts/privateDockerd.mjs: its own dockerd, no bridge, no iptables),
 * so it needs root, or an engine handed over in AGENTFENSE_TEST_DOCKER_SOCKET.
 */
import Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import type { Scenario } from '../scenario';
import { ratioRow, row, goals } from '../report';
import { median, nowMs, summarize } from '../stats';
import { startServer } from '../server';
import { generateWorkspace } from '../synthetic';
import { uploadWorkspaceRaw } from '../uploadRaw';
import {
  dockerdPath,
  importToolsImage,
  startPrivateDockerd,
  type PrivateDockerd,
} from '../../scripts/privateDockerd.mjs';

const FILES = 200;

/** One bare `true` through the Engine API, as our runner's exec is made, minus everything of ours. */
async function bareExec(container: Docker.Container): Promise<number> {
  const t0 = nowMs();
  const exec = await container.exec({ Cmd: ['true'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  await new Promise<void>((resolve) => {
    stream.on('data', () => {});
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.end();
  });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`bare docker exec of true exited ${info.ExitCode}`);
  return nowMs() - t0;
}

export const dockerRuntime: Scenario = {
  name: 'docker',
  title: '12 Docker runtime',
  async run(ctx) {
    const given = process.env.AGENTFENSE_TEST_DOCKER_SOCKET;
    if (!given && (!dockerdPath() || process.getuid?.() !== 0))
      throw new Error(
        'needs a Docker engine: run as root with docker.io installed (a private dockerd), or set AGENTFENSE_TEST_DOCKER_SOCKET',
      );
    let engine: PrivateDockerd | undefined;
    const socket = given ?? (engine = await startPrivateDockerd()).socket;
    try {
      ctx.log('importing the tools image');
      const image = await importToolsImage(socket);
      const server = await startServer(ctx.path('docker-server'), ['--docker-host', `unix://${socket}`]);
      try {
        const { rpc } = server;
        const workspace = generateWorkspace(ctx.path('docker-workspace'), {
          fileCount: FILES,
          totalBytes: FILES * 4096,
          seed: ctx.seed,
        });
        const codebase = await rpc.createCodebase('bench-docker');
        await uploadWorkspaceRaw(rpc, codebase.id, workspace, ctx.sizes.uploadConcurrency);
        const repeats = Math.max(2, Math.min(ctx.sizes.createStartRepeats, 5));
        const calls = ctx.quick ? 5 : 200;

        const measure = async (docker?: { image: string }) => {
          const createStart: number[] = [];
          for (let i = 0; i < repeats; i++) {
            const t0 = nowMs();
            const sb = await rpc.createSandbox(codebase.id, 'agent-safe', docker);
            await rpc.startSandbox(sb.id);
            createStart.push(nowMs() - t0);
            await rpc.destroySandbox(sb.id);
          }
          const sb = await rpc.createSandbox(codebase.id, 'agent-safe', docker);
          await rpc.startSandbox(sb.id);
          const exec: number[] = [];
          for (let i = 0; i < calls + 3; i++) {
            const t0 = nowMs();
            const r = await rpc.exec(sb.id, 'true');
            if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}: ${r.stderr}`);
            if (i >= 3) exec.push(nowMs() - t0);
          }
          return { createStart, exec: summarize(exec), sandboxId: sb.id };
        };
        ctx.log('bubblewrap sandboxes');
        const bwrap = await measure();
        ctx.log('Docker sandboxes');
        const docker = await measure({ image });
        ctx.log('bare docker exec in the same container');
        const api = new Docker({ socketPath: socket });
        const container = api.getContainer(`agentfense-${docker.sandboxId}`);
        const bare: number[] = [];
        for (let i = 0; i < calls + 3; i++) {
          const ms = await bareExec(container);
          if (i >= 3) bare.push(ms);
        }
        const bareSummary = summarize(bare);
        await rpc.destroySandbox(docker.sandboxId);
        await rpc.destroySandbox(bwrap.sandboxId);
        return {
          rows: [
            row({
              scenario: 'docker',
              metric: `create+start, Docker (${FILES} files), median of ${repeats}`,
              value: median(docker.createStart),
              unit: 'ms',
              baseline: { name: 'bubblewrap', value: median(bwrap.createStart) },
            }),
            ratioRow(
              {
                scenario: 'docker',
                metric: 'Exec `true` p50, Docker sandbox',
                value: docker.exec.p50,
                unit: 'ms',
                baseline: { name: 'bare docker exec (Engine API)', value: bareSummary.p50 },
              },
              goals.ratioAtMost(1.3, 'bare docker exec'),
            ),
            row({
              scenario: 'docker',
              metric: 'Exec `true` p99, Docker sandbox',
              value: docker.exec.p99,
              unit: 'ms',
              baseline: { name: 'bare docker exec p99', value: bareSummary.p99 },
            }),
            row({
              scenario: 'docker',
              metric: 'Exec `true` p50 / p99, bubblewrap sandbox (same server, same codebase)',
              value: bwrap.exec.p50,
              unit: 'ms',
              baseline: { name: `p99 ${bwrap.exec.p99.toFixed(1)} ms; Docker p50`, value: docker.exec.p50 },
            }),
          ],
          details: { calls, repeats, bwrap, docker, bare: bareSummary },
        };
      } finally {
        await server.stop();
      }
    } finally {
      await engine?.stop();
    }
  },
};
