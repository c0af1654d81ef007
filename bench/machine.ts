/** What machine a run was on, recorded with every result (figures mean nothing without it). */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  kernel: string;
  node: string;
  bwrap: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverageAtStart: number;
}

export function describeMachine(): MachineInfo {
  let bwrap = 'bwrap: not found';
  try {
    bwrap = execFileSync('bwrap', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as missing; the sandbox scenarios will fail with their own error
  }
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memTotalGiB: totalmem() / 1024 ** 3,
    kernel: release(),
    node: process.version,
    bwrap,
    loadAverageAtStart: loadavg()[0]!,
  };
}
