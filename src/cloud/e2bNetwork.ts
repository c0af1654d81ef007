/**
 * A sandbox's network policy (its labels, as the provisioner made them from the preset and
 * `agentfense.network`) as E2B's create options: `off` → no internet access; `on` → access,
 * less `network.denyOut`; `allow` → `network.allowOut` and everything else denied. E2B's rules
 * name hosts, addresses and ranges, not ports: a destination with a port cannot be honoured
 * there and is an error that says so (never a looser rule).
 */
import { networkPolicyOf, type Destination } from '../shared/networkPolicy';
import { CloudError } from './cloudErrors';

/** E2B's word for every address (its SDK's ALL_TRAFFIC). */
export const ALL_TRAFFIC = '0.0.0.0/0';

export interface E2bNetworkOptions {
  allowInternetAccess?: boolean;
  network?: { allowOut?: string[]; denyOut?: string[] };
}

export function e2bNetworkOptions(labels: Readonly<Record<string, string>>): E2bNetworkOptions {
  const policy = networkPolicyOf(labels);
  switch (policy.mode) {
    case 'off':
      return { allowInternetAccess: false };
    case 'on':
      return policy.deny.length
        ? { allowInternetAccess: true, network: { denyOut: policy.deny.map(e2bDestination) } }
        : { allowInternetAccess: true };
    case 'allow':
      return {
        allowInternetAccess: true,
        network: { allowOut: policy.allow.map(e2bDestination), denyOut: [ALL_TRAFFIC] },
      };
  }
}

function e2bDestination(d: Destination): string {
  const cannot = (why: string) =>
    new CloudError(
      'unsupported',
      `the network destination "${d.text}" cannot be honoured by an E2B-protocol sandbox: ${why}`,
      'change the preset\'s "network" (or the "agentfense.network" setting), or use the embedded backend',
    );
  if (d.port !== undefined)
    throw cannot(
      'its rules name hosts and addresses, not ports (write the host without ":port" to allow all its ports)',
    );
  switch (d.host.kind) {
    case 'domain':
      return d.host.name;
    case 'ip':
      return d.host.address;
    case 'cidr':
      return d.host.text;
    case 'wildcard':
      throw cannot('wildcard names are not part of its rules');
    case 'localhost':
      throw cannot("the sandbox's localhost is its own machine");
  }
}
