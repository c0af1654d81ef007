// Spawns a command line over and over from a small, fresh Node process and reports how long
// each took. The baselines run here rather than in the bench process because fork() cost
// grows with the parent's memory (measured here: ~2 ms from a 50 MB Node, ~30 ms from a
// 250 MB one), and the bench process carries tsx, gRPC and test data — a baseline must not
// be slowed by the harness. Plain CommonJS, no dependencies, so it starts small.
//   node bareSpawnRunner.cjs '<json>'  with json = { argv, options, mode: 'sequential', n }
//                                          or   { argv, options, mode: 'throughput', concurrency, durationMs }
'use strict';
const { spawn } = require('node:child_process');

const job = JSON.parse(process.argv[2]);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function runOnce() {
  return new Promise((resolve, reject) => {
    const o = job.options || {};
    const child = spawn(job.argv[0], job.argv.slice(1), {
      cwd: o.cwd,
      env: o.env,
      uid: o.uid,
      gid: o.gid,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (b) => (stderr += b));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`exit ${code}: ${stderr.slice(0, 300)}`)),
    );
    if (o.input !== undefined) {
      child.stdin.on('error', () => {}); // the command may exit without reading it (EPIPE), as the server allows
      child.stdin.end(o.input);
    }
  });
}

(async () => {
  if (job.mode === 'sequential') {
    // A failed run is counted, not timed (the caller decides how many failures are too many).
    const samples = [];
    const errors = [];
    for (let i = 0; i < job.n; i++) {
      const t0 = now();
      try {
        await runOnce();
        samples.push(now() - t0);
      } catch (err) {
        errors.push(String(err.message));
      }
    }
    process.stdout.write(JSON.stringify({ samples, errors, rssMiB: process.memoryUsage().rss / 2 ** 20 }) + '\n');
  } else {
    const start = now();
    const deadline = start + job.durationMs;
    let calls = 0;
    let errors = 0;
    const worker = async () => {
      while (now() < deadline) {
        try {
          await runOnce();
          calls++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, worker));
    const elapsedMs = now() - start;
    process.stdout.write(JSON.stringify({ calls, elapsedMs, perSecond: (calls / elapsedMs) * 1000, errors }) + '\n');
  }
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
