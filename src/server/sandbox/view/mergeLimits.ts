/**
 * Bounds on what one merge takes from a sandbox's layer, and on the layer itself. A sandbox
 * decides how many files, how many bytes (a sparse file costs nothing to make) and how deep;
 * without bounds one command can fill the host's disk through the blob store or keep the
 * server busy for minutes. The defaults are far above what a real project's command writes.
 */
export interface MergeLimits {
  /** Apparent bytes (holes included) of the files merged after one command. */
  maxBytes: number;
  /** Files merged after one command. */
  maxFiles: number;
  /** Path components of a merged path (`a/b/c` is 3). */
  maxDepth: number;
  /** Apparent bytes of all files in a sandbox's writable layer; as root also the size of its tmpfs. */
  layerQuotaBytes: number;
}

const GiB = 1024 ** 3;

export const DEFAULT_MERGE_LIMITS: Readonly<MergeLimits> = {
  maxBytes: 4 * GiB,
  maxFiles: 200_000,
  maxDepth: 256,
  layerQuotaBytes: 8 * GiB,
};

/** `1.5 GiB`, `300 MiB`, `12 KiB`, `7 bytes`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', GiB],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size) return `${(n / size).toFixed(n % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** `4G`, `512M`, `100K`, `1000` (bytes); undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const power = ['', 'K', 'M', 'G', 'T'].indexOf(m[2].toUpperCase());
  const n = Number(m[1]) * 1024 ** power;
  return Number.isSafeInteger(n) ? n : undefined;
}
