/**
 * How the egress proxy turns a name into the one address it connects to: the host's resolver
 * (the sandbox has no DNS of its own), or, for tests, fixed names of local origins that stand
 * for public ones (`--network-test-hosts`).
 */
import { lookup } from 'node:dns/promises';
import type { Resolution } from './egressProxy';

export function egressResolver(testHosts: ReadonlyMap<string, string>): (host: string) => Promise<Resolution> {
  return async (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    const test = testHosts.get(name);
    if (test) return { address: test, publicAddress: true };
    const { address } = await lookup(name, { verbatim: true });
    return { address };
  };
}
