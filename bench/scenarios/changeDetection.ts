/**
 * 6. Change detection: a command modifies 10 files of the shared codebase; how long until
 * the codebase shows the change. The server merges the sandbox's layer into the codebase
 * before Exec returns, so: (exec of the modifying command + ListFiles confirming the new
 * sizes) − (exec of a no-op of the same shape). Interleaved, medians.
 */
import { posix } from 'node:path';
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { median, nowMs, summarize } from '../stats';

export const changeDetection: Scenario = {
  name: 'change-detection',
  title: '6 change detection',
  async run(ctx) {
    const { rpc } = await ctx.server();
    const shared = await ctx.sharedCodebase();
    const n = ctx.sizes.changeFiles;
    // Files of one folder, as an agent editing one module would touch.
    const byDir = new Map<string, string[]>();
    for (const f of shared.workspace.files) {
      if (f.path.startsWith('.') || f.path.startsWith('bench-fixtures/') || f.path.includes('/.')) continue;
      const dir = posix.dirname(f.path);
      byDir.set(dir, [...(byDir.get(dir) ?? []), f.path]);
    }
    const [dir, inDir] = [...byDir.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    const targets = inDir.slice(0, n);
    if (targets.length < n) throw new Error(`no folder with ${n} files in the shared workspace`);
    const quoted = targets.map((p) => `'${p}'`).join(' ');
    const modify = `for f in ${quoted}; do printf x >> "$f"; done`;
    const noop = `for f in ${quoted}; do :; done`;

    // development: the whole workspace is writable (agent-safe would only allow output/, tmp/).
    const sb = await rpc.createSandbox(shared.codebaseId, 'development');
    await rpc.startSandbox(sb.id);
    try {
      const sizeOf = async () => {
        const files = await rpc.listFiles(shared.codebaseId, dir, false);
        const sizes = new Map(files.map((f) => [f.path.replace(/^\//, ''), f.size]));
        // ListFiles paths may be relative to the codebase root or to the listed dir.
        return (p: string) => sizes.get(p) ?? sizes.get(posix.basename(p));
      };
      await rpc.exec(sb.id, noop);
      const noopMs: number[] = [];
      const modifyMs: number[] = [];
      const visibleMs: number[] = [];
      const listMs: number[] = [];
      for (let rep = 0; rep < ctx.sizes.changeRepeats; rep++) {
        const before = await sizeOf();
        const expected = targets.map((p) => (before(p) ?? NaN) + 1);

        let t = nowMs();
        await rpc.exec(sb.id, noop);
        noopMs.push(nowMs() - t);

        t = nowMs();
        const r = await rpc.exec(sb.id, modify);
        if (r.exitCode !== 0) throw new Error(`modifying command exited ${r.exitCode}: ${r.stderr}`);
        modifyMs.push(nowMs() - t);
        const tl = nowMs();
        const after = await sizeOf();
        listMs.push(nowMs() - tl);
        const missing = targets.filter((p, i) => after(p) !== expected[i]);
        if (missing.length)
          throw new Error(
            `after Exec returned, ListFiles does not show the change of ${missing.length}/${n} files (e.g. ${missing[0]})`,
          );
        visibleMs.push(nowMs() - t);
      }
      const visible = median(visibleMs) - median(noopMs);
      const mergeCost = median(modifyMs) - median(noopMs);
      return {
        rows: [
          row({
            scenario: 'change-detection',
            metric: `${n} files changed → visible in ListFiles, beyond a no-op exec`,
            value: visible,
            unit: 'ms',
            goal: goals.atMost(150, 'ms', visible),
          }),
          row({
            scenario: 'change-detection',
            metric: 'exec of the modifying command p50',
            value: median(modifyMs),
            unit: 'ms',
            baseline: { name: 'same-shape no-op exec', value: median(noopMs) },
            note: `merge ≈ ${mergeCost.toFixed(1)} ms`,
          }),
          row({
            scenario: 'change-detection',
            metric: `ListFiles of the folder (${inDir.length} files) p50`,
            value: median(listMs),
            unit: 'ms',
          }),
        ],
        details: {
          folder: dir,
          targets,
          noop: summarize(noopMs),
          modify: summarize(modifyMs),
          listFiles: summarize(listMs),
          visible: summarize(visibleMs),
        },
      };
    } finally {
      await rpc.destroySandbox(sb.id);
    }
  },
};
