/**
 * JSON in a binary trailer (denials, refused connections): gRPC's default limit on received
 * metadata is 8 KiB for all of it, so a list is cut to what fits, and a client reads it
 * defensively (anything malformed is no value, never a failed call).
 */

/** The longest prefix of `items` whose JSON, with `overhead` bytes around it, stays within `maxBytes`. */
export function itemsWithin<T>(items: readonly T[], maxBytes: number, overhead: number): T[] {
  const kept: T[] = [];
  let size = overhead;
  for (const item of items) {
    size += Buffer.byteLength(JSON.stringify(item)) + 1;
    if (size > maxBytes) break;
    kept.push(item);
  }
  return kept;
}

/** The trailer's JSON, or undefined when there is none or it is not JSON. */
export function parseTrailerJson(raw: Buffer | string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw.toString()) as unknown;
  } catch {
    return undefined;
  }
}
