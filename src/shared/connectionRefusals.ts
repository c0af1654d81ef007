/**
 * The connections a command's egress proxy refused (a sandbox with network `allow` or `on`),
 * as the CONNECTIONS_REFUSED_TRAILER carries them: each destination once, with how often. The
 * server sends them for every command with refusals, audited or not (the proxy sees every
 * connection anyway); the client decodes defensively.
 */
import { itemsWithin, parseTrailerJson } from './trailerJson';

export interface RefusedConnectionWire {
  host: string;
  port: number;
  /** Why, in the proxy's words ("pypi.org:443 is not in agentfense.network.allow"). */
  reason: string;
  /** The destination rule that decided, when one did (a deny entry). */
  rule?: string;
  /** Seconds since the epoch, of the first refusal. */
  time: number;
  count: number;
}

export const CONNECTIONS_REFUSED_TRAILER = 'x-agentfense-connections-refused-bin';
const MAX_BYTES = 4000;

export function encodeRefusedConnections(list: readonly RefusedConnectionWire[]): Buffer {
  return Buffer.from(JSON.stringify(itemsWithin(list, MAX_BYTES, 2)));
}

export function decodeRefusedConnections(raw: Buffer | string | undefined): RefusedConnectionWire[] | undefined {
  const parsed = parseTrailerJson(raw);
  if (!Array.isArray(parsed)) return undefined;
  return parsed.filter(
    (r): r is RefusedConnectionWire =>
      !!r &&
      typeof r === 'object' &&
      typeof r.host === 'string' &&
      typeof r.port === 'number' &&
      typeof r.reason === 'string' &&
      (r.rule === undefined || typeof r.rule === 'string') &&
      typeof r.time === 'number' &&
      typeof r.count === 'number',
  );
}

/** The same destination refused again counts, rather than repeating. */
export function countRefusals(
  list: readonly { host: string; port: number; reason: string; rule?: string; time: number }[],
): RefusedConnectionWire[] {
  const byKey = new Map<string, RefusedConnectionWire>();
  for (const r of list) {
    const key = `${r.host.toLowerCase()}:${r.port}`;
    const seen = byKey.get(key);
    if (seen) seen.count++;
    else
      byKey.set(key, {
        host: r.host,
        port: r.port,
        reason: r.reason,
        ...(r.rule ? { rule: r.rule } : {}),
        time: r.time,
        count: 1,
      });
  }
  return [...byKey.values()];
}
