/**
 * 11. What the egress proxy costs a sandbox with network: a new connection until its first
 * byte echoes back (through the forwarder and the proxy's CONNECT), and a 100 MB download,
 * each against the same client on the host connecting directly on loopback. The origins are
 * on this machine (test/helpers/networkOrigins.ts); the server maps `origin.test` to them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxClient } from '../../src/client';
import { startOrigins } from '../../test/helpers/networkOrigins';
import type { Scenario } from '../scenario';
import { goals, ratioRow, row } from '../report';
import { startServer } from '../server';
import { summarize } from '../stats';

const execFileAsync = promisify(execFile);

interface ProbeResult {
  latencies: number[];
  downloadMs: number;
  bytes: number;
}

export const egress: Scenario = {
  name: 'egress',
  title: '11 egress proxy',
  async run(ctx) {
    const origins = await startOrigins();
    const server = await startServer(ctx.path('egress-server'), ['--network-test-hosts', 'origin.test=127.0.0.1']);
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const probe = readFileSync(join(ctx.repoRoot, 'bench', 'egressProbe.py'), 'utf8');
      const codebase = await server.rpc.createCodebase('bench-egress');
      await client.uploadFile(codebase.id, 'probe.py', Buffer.from(probe));
      const sb = await client.createSandbox(codebase.id, {
        permissions: [{ pattern: '**/*', permission: 'read', priority: 0 }],
        labels: { 'agentfense.network': 'allow', 'agentfense.network.allow': 'origin.test' },
      });
      await client.startSandbox(sb.id);
      const rounds = ctx.quick ? 100 : 500;
      const args = ['origin.test', String(origins.echo), String(origins.http), String(rounds)];
      const r = await client.exec(sb.id, `python3 probe.py proxy ${args.join(' ')}`, { timeoutMs: 600_000 });
      if (r.exitCode !== 0) throw new Error(`the probe failed in the sandbox: ${r.stderr.slice(0, 500)}`);
      const proxied = JSON.parse(r.stdout) as ProbeResult;
      // Asynchronously: the origins answer from this process's event loop.
      const { stdout } = await execFileAsync('python3', [
        join(ctx.repoRoot, 'bench', 'egressProbe.py'),
        'direct',
        ...args,
      ]);
      const direct = JSON.parse(stdout) as ProbeResult;
      if (proxied.bytes !== direct.bytes)
        throw new Error(`downloads differ: ${proxied.bytes} vs ${direct.bytes} bytes`);
      const p = summarize(proxied.latencies);
      const d = summarize(direct.latencies);
      const added = p.p50 - d.p50;
      const mbps = (x: ProbeResult) => x.bytes / 1e6 / (x.downloadMs / 1000);
      return {
        rows: [
          row({
            scenario: 'egress',
            metric: 'new connection to first echoed byte, p50',
            value: p.p50,
            unit: 'ms',
            baseline: { name: 'direct on loopback', value: d.p50 },
          }),
          {
            ...row({
              scenario: 'egress',
              metric: 'added by the proxy, p50',
              value: added,
              unit: 'ms',
              note: 'forwarder in the sandbox + Unix socket + CONNECT to the policy-checked address',
            }),
            goal: goals.atMost(2, 'ms', added),
          },
          ratioRow(
            {
              scenario: 'egress',
              metric: `download of ${Math.round(proxied.bytes / 1e6)} MB through the proxy`,
              value: mbps(proxied),
              unit: 'MB/s',
              baseline: { name: 'direct on loopback', value: mbps(direct) },
            },
            goals.ratioAtLeast(0.8, 'direct'),
          ),
        ],
        details: {
          rounds,
          proxied: { ...p, downloadMs: proxied.downloadMs },
          direct: { ...d, downloadMs: direct.downloadMs },
        },
      };
    } finally {
      client.close();
      await server.stop();
      await origins.close();
    }
  },
};
