/**
 * Resource limits every sandbox gets unless its CreateSandbox asks for others: a sandbox that
 * asks for nothing must still not be able to take the host's processes, memory or every CPU.
 * Each field of a request's `resources` that is set (non-zero) replaces the default's.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { ResourceLimitValues } from './cgroupLimits';

const GiB = 1024 ** 3;
const CPU_PERIOD_US = 100_000;

/**
 * Memory: half the host's, at most 8 GiB (as root the writable layer's tmpfs pages count too);
 * processes: 4096, far above a build's and far below a fork bomb's; CPU: all cores but one,
 * so the server (and the rest of the host) always keeps one.
 */
export function hostDefaultLimits(): ResourceLimitValues {
  return {
    memoryBytes: Math.max(GiB, Math.min(8 * GiB, Math.floor(totalmem() / 2 / (1024 * 1024)) * 1024 * 1024)),
    pidsLimit: 4096,
    cpuQuota: Math.max(1, availableParallelism() - 1) * CPU_PERIOD_US,
    cpuShares: 0,
  };
}

/** The request's limits over the defaults, field by field. */
export function withDefaults(
  requested: ResourceLimitValues | undefined,
  defaults: ResourceLimitValues,
): ResourceLimitValues {
  const pick = (field: keyof ResourceLimitValues) =>
    requested && requested[field] > 0 ? requested[field] : defaults[field];
  return {
    memoryBytes: pick('memoryBytes'),
    pidsLimit: pick('pidsLimit'),
    cpuQuota: pick('cpuQuota'),
    cpuShares: pick('cpuShares'),
  };
}
