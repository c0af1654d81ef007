// The network policy of a sandbox (src/shared/networkPolicy): its labels, destinations, and
// the decision for one connection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPresetCatalog, parsePresetFile } from '../../src/core/presets/presetCatalog';
import { destinationFor } from '../../src/core/denials/accessGrant';
import { presetFileWithDestination } from '../../src/core/denials/presetFileGrant';
import {
  decide,
  describeNetwork,
  NETWORK_OFF,
  parsePresetNetwork,
  presetNetworkLabels,
  withNetworkOverride,
  isInternalAddress,
  networkPolicyOf,
  NetworkPolicyError,
  parseDestination,
  type NetworkPolicy,
} from '../../src/shared/networkPolicy';

const policy = (labels: Record<string, string>): NetworkPolicy => networkPolicyOf(labels);
const verdict = (p: NetworkPolicy, name: string, port: number, address: string) => {
  const v = decide(p, name, port, address);
  return v.allowed ? `allowed${v.rule ? ` by ${v.rule.text}` : ''}` : `refused: ${v.reason}`;
};

describe('network policy labels', () => {
  it('off by default; allow needs destinations; a mode or destination it cannot honour is an error', () => {
    assert.equal(policy({}).mode, 'off');
    assert.throws(() => policy({ 'agentfense.network': 'yes' }), NetworkPolicyError);
    assert.throws(() => policy({ 'agentfense.network': 'allow' }), /needs destinations/);
    assert.throws(() => policy({ 'agentfense.network.allow': 'pypi.org' }), /need agentfense.network=allow or on/);
    assert.throws(() => policy({ 'agentfense.network': 'on', 'agentfense.network.deny': 'a b' }), /is not a domain/);
    assert.throws(
      () => policy({ 'agentfense.network': 'allow', 'agentfense.network.allow': '@nope' }),
      /unknown bundle @nope/,
    );
    assert.throws(() => parseDestination('localhost'), /needs a port/);
    assert.throws(() => parseDestination('x.org:70000'), /port/);
  });

  it('reads domains, wildcards, ports, IPs, CIDRs, localhost:PORT and bundles', () => {
    const p = policy({
      'agentfense.network': 'allow',
      'agentfense.network.allow':
        'pypi.org:443, *.github.com, 10.1.2.3, [::1]:8080, 192.168.0.0/16:5432, localhost:5432, @npm',
    });
    assert.deepEqual(
      p.allow.map((d) => [d.host.kind, d.port ?? null]),
      [
        ['domain', 443],
        ['wildcard', null],
        ['ip', null],
        ['ip', 8080],
        ['cidr', 5432],
        ['localhost', 5432],
        ['domain', 443],
        ['domain', 443],
        ['wildcard', 443],
      ],
    );
    assert.match(p.allow.at(-1)!.text, /\(@npm\)/);
  });
});

describe('the decision for one connection', () => {
  const allow = policy({
    'agentfense.network': 'allow',
    'agentfense.network.allow': 'pypi.org:443,*.github.com,localhost:5432,10.0.0.0/8',
    'agentfense.network.deny': 'evil.github.com',
  });

  it('allow: only listed names and ports; a wildcard matches below the domain, not the domain', () => {
    assert.equal(verdict(allow, 'pypi.org', 443, '151.101.0.223'), 'allowed by pypi.org:443');
    assert.match(verdict(allow, 'pypi.org', 80, '151.101.0.223'), /not in agentfense.network.allow/);
    assert.equal(verdict(allow, 'api.github.com', 443, '140.82.112.5'), 'allowed by *.github.com');
    assert.match(verdict(allow, 'github.com', 443, '140.82.112.5'), /refused/);
    assert.match(verdict(allow, 'example.com', 443, '93.184.216.34'), /refused/);
  });

  it('deny wins over allow', () => {
    assert.equal(verdict(allow, 'evil.github.com', 443, '140.82.112.5'), 'refused: denied by evil.github.com');
  });

  it('internal addresses only when a destination names them by address or as localhost:PORT', () => {
    assert.match(
      verdict(allow, 'db.github.com', 443, '127.0.0.1'),
      /host-internal/,
      'a name that resolves inside does not count',
    );
    assert.equal(verdict(allow, 'localhost', 5432, '127.0.0.1'), 'allowed by localhost:5432');
    assert.match(verdict(allow, 'localhost', 6379, '127.0.0.1'), /host-internal/);
    assert.equal(verdict(allow, '10.2.3.4', 22, '10.2.3.4'), 'allowed by 10.0.0.0/8');
    const on = policy({ 'agentfense.network': 'on' });
    assert.equal(verdict(on, 'example.com', 443, '93.184.216.34'), 'allowed');
    for (const address of [
      '127.0.0.1',
      '169.254.169.254',
      '192.168.1.10',
      '::1',
      '::ffff:127.0.0.1',
      'fd00::1',
      '0.0.0.0',
    ])
      assert.match(verdict(on, 'x.example', 80, address), /host-internal/, address);
    assert.ok(!isInternalAddress('2606:4700::1111'));
  });

  it('off refuses everything', () => {
    assert.match(verdict(policy({}), 'pypi.org', 443, '151.101.0.223'), /network is off/);
  });
});

describe("a preset's network", () => {
  it('built-ins: agent-safe off, development the registries, full-access on; extends inherits, its own replaces', () => {
    const catalog = buildPresetCatalog(
      {},
      {
        inherits: { extends: 'development' },
        own: { extends: 'development', network: { allow: ['pypi.org:443'] } },
        on: { extends: 'agent-safe', network: { mode: 'on', deny: ['evil.example'] } },
        bad: { extends: 'agent-safe', network: { allow: ['not a host'] } },
      },
    );
    assert.equal(describeNetwork(catalog.networkOf('agent-safe')), 'off');
    assert.equal(describeNetwork(catalog.networkOf('development')), 'allow @npm, @pypi, @github, @crates, @go, @maven');
    assert.equal(describeNetwork(catalog.networkOf('full-access')), 'on');
    assert.equal(describeNetwork(catalog.networkOf('inherits')), describeNetwork(catalog.networkOf('development')));
    assert.equal(describeNetwork(catalog.networkOf('own')), 'allow pypi.org:443');
    assert.equal(describeNetwork(catalog.networkOf('on')), 'on; deny evil.example');
    assert.match(catalog.get('bad')!.error!, /"not a host" is not a domain/);
    assert.deepEqual(presetNetworkLabels(catalog.networkOf('own')), {
      'agentfense.network': 'allow',
      'agentfense.network.allow': 'pypi.org:443',
    });
    assert.deepEqual(presetNetworkLabels(catalog.networkOf('agent-safe')), {});
  });

  it("a setting's off or on overrides every preset, keeping its deny list", () => {
    const dev = parsePresetNetwork({ allow: ['@npm'], deny: ['x.org'] });
    assert.equal(withNetworkOverride(dev, 'off').mode, 'off');
    assert.deepEqual(withNetworkOverride(dev, 'on'), { mode: 'on', allow: [], deny: ['x.org'] });
    assert.equal(withNetworkOverride(dev, undefined), dev);
  });

  it('a refused connection becomes a destination added to the network the preset has', () => {
    assert.equal(destinationFor('PyPI.org', 443), 'pypi.org:443');
    assert.equal(destinationFor('::1', 8080), '[::1]:8080');
    const text = presetFileWithDestination(
      '',
      { kind: 'derived', name: 'development-granted', base: 'development' },
      parsePresetNetwork({ allow: ['@npm'] }),
      'pypi.org:443',
    );
    const catalog = buildPresetCatalog({}, parsePresetFile(text).presets);
    assert.equal(describeNetwork(catalog.networkOf('development-granted')), 'allow @npm, pypi.org:443');
    const off = presetFileWithDestination(
      JSON.stringify({ mine: { extends: 'agent-safe' } }),
      { kind: 'into', preset: 'mine' },
      NETWORK_OFF,
      'pypi.org:443',
    );
    assert.deepEqual(parsePresetFile(off).presets.mine, {
      extends: 'agent-safe',
      network: { allow: ['pypi.org:443'] },
    });
  });
});
