/**
 * The original AgentFense's published figures (its performance page: 2 vCPU / 4 GB,
 * Ubuntu 22.04). Printed beside ours for orientation only: a different machine, a
 * different runtime (Go server + FUSE), not measured in this run, so never used as a
 * baseline or a goal.
 */
export const PUBLISHED = {
  createP50: 'create 150 ms p50 / 300 ms p99',
  startP50: 'start (bwrap) 80 ms p50 / 150 ms p99',
  execP50: 'exec 20 ms p50',
  execP99: 'exec 50 ms p99',
  execThroughput: '1000+ cmds/s',
  read1k: 'read 1 KB 0.5 ms p50',
  read1m: 'read 1 MB 15 ms p50',
  smallReads: '5000+ small reads/s',
  smallWrites: '3000+ small writes/s',
  fuseOverhead: 'FUSE +2–5 % vs native',
  concurrency: '120+ sandboxes',
  perSandboxMemory: '~5 MB, 2 processes per sandbox',
} as const;
