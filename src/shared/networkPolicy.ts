/**
 * A sandbox's network policy, as its labels carry it on the wire (so AgentFense's own SDK can
 * set it) and as the server's egress proxy applies it:
 *
 *   agentfense.network        off (default) | allow | on
 *   agentfense.network.allow  comma-separated destinations (mode allow: the only ones reachable)
 *   agentfense.network.deny   comma-separated destinations refused in every mode (deny wins)
 *
 * A destination is `host[:port]`: a domain (`registry.npmjs.org`, `*.github.com`: any name
 * below github.com), an IPv4 or bracketed IPv6 literal, a CIDR (`10.0.0.0/8`), `localhost`
 * (one host service on purpose, with a port), or a bundle (`@npm`, `@pypi`, `@github`,
 * `@crates`, `@go`, `@maven`, `@docker-hub`). Every sandbox has its own network namespace in
 * every mode; `on` reaches the internet but not the host's loopback, link-local (cloud
 * metadata) or private addresses unless a destination names them.
 */
import { isIP } from 'node:net';

export const NETWORK_LABEL = 'agentfense.network';
export const NETWORK_ALLOW_LABEL = 'agentfense.network.allow';
export const NETWORK_DENY_LABEL = 'agentfense.network.deny';

export const NETWORK_MODES = ['off', 'allow', 'on'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const NETWORK_BUNDLES: Readonly<Record<string, readonly string[]>> = {
  npm: ['registry.npmjs.org:443', 'registry.yarnpkg.com:443', '*.npmjs.org:443'],
  pypi: ['pypi.org:443', 'files.pythonhosted.org:443'],
  github: ['github.com', '*.github.com', '*.githubusercontent.com:443', 'codeload.github.com:443'],
  crates: ['crates.io:443', 'index.crates.io:443', 'static.crates.io:443'],
  go: ['proxy.golang.org:443', 'sum.golang.org:443', 'storage.googleapis.com:443'],
  maven: ['repo.maven.apache.org:443', 'repo1.maven.org:443', 'plugins.gradle.org:443'],
  'docker-hub': ['registry-1.docker.io:443', 'auth.docker.io:443', 'production.cloudflare.docker.com:443'],
};

export type HostPattern =
  | { kind: 'domain'; name: string }
  /** `*.example.com`: names strictly below `suffix`. */
  | { kind: 'wildcard'; suffix: string }
  | { kind: 'ip'; address: string }
  | { kind: 'cidr'; base: bigint; bits: number; family: 4 | 6; text: string }
  | { kind: 'localhost' };

export interface Destination {
  /** As written (a bundle's entries say which bundle). */
  text: string;
  host: HostPattern;
  /** Undefined: any port. */
  port?: number;
}

export interface NetworkPolicy {
  mode: NetworkMode;
  allow: Destination[];
  deny: Destination[];
}

export const NO_NETWORK: NetworkPolicy = { mode: 'off', allow: [], deny: [] };

export class NetworkPolicyError extends Error {}

/** The policy the labels ask for; a label it cannot honour is an error that says which and why. */
export function networkPolicyOf(labels: Readonly<Record<string, string>>): NetworkPolicy {
  const mode = (labels[NETWORK_LABEL] ?? 'off').trim();
  if (!(NETWORK_MODES as readonly string[]).includes(mode))
    throw new NetworkPolicyError(`label ${NETWORK_LABEL}=${JSON.stringify(mode)}: use off, allow or on`);
  const allow = parseDestinations(labels[NETWORK_ALLOW_LABEL] ?? '', NETWORK_ALLOW_LABEL);
  const deny = parseDestinations(labels[NETWORK_DENY_LABEL] ?? '', NETWORK_DENY_LABEL);
  if (mode === 'off' && (allow.length > 0 || deny.length > 0))
    throw new NetworkPolicyError(
      `${NETWORK_ALLOW_LABEL}/${NETWORK_DENY_LABEL} need ${NETWORK_LABEL}=allow or on (with off, nothing is reachable)`,
    );
  if (mode === 'allow' && allow.length === 0)
    throw new NetworkPolicyError(`${NETWORK_LABEL}=allow needs destinations in ${NETWORK_ALLOW_LABEL}`);
  return { mode: mode as NetworkMode, allow, deny };
}

export function parseDestinations(list: string, label: string): Destination[] {
  const out: Destination[] = [];
  for (const raw of list.split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    if (text.startsWith('@')) {
      const bundle = NETWORK_BUNDLES[text.slice(1)];
      if (!bundle)
        throw new NetworkPolicyError(
          `${label}: unknown bundle ${text} (known: ${Object.keys(NETWORK_BUNDLES)
            .map((b) => '@' + b)
            .join(', ')})`,
        );
      for (const entry of bundle) out.push({ ...parseDestination(entry, label), text: `${entry} (${text})` });
      continue;
    }
    out.push(parseDestination(text, label));
  }
  return out;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

export function parseDestination(text: string, label = 'destination'): Destination {
  const bad = (why: string) => new NetworkPolicyError(`${label}: ${JSON.stringify(text)} ${why}`);
  let hostText = text.toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostText);
  if (bracketed) {
    hostText = bracketed[1]!;
    if (bracketed[2] !== undefined) port = portOf(bracketed[2], bad);
  } else if (!hostText.includes('/') && hostText.split(':').length === 2) {
    const [h, p] = hostText.split(':') as [string, string];
    hostText = h;
    port = portOf(p, bad);
  } else if (hostText.includes('/') && /:\d+$/.test(hostText) && hostText.split(':').length === 2) {
    const at = hostText.lastIndexOf(':');
    port = portOf(hostText.slice(at + 1), bad);
    hostText = hostText.slice(0, at);
  }
  let host: HostPattern;
  if (hostText === 'localhost') {
    if (port === undefined) throw bad('needs a port: localhost:PORT lets the sandbox reach one host service');
    host = { kind: 'localhost' };
  } else if (hostText.includes('/')) host = parseCidr(hostText, bad);
  else if (isIP(hostText)) host = { kind: 'ip', address: normalIp(hostText) };
  else if (hostText.startsWith('*.')) {
    const suffix = hostText.slice(2);
    if (!DOMAIN.test(suffix) || !suffix.includes('.')) throw bad('is not a wildcard domain like *.github.com');
    host = { kind: 'wildcard', suffix };
  } else if (DOMAIN.test(hostText)) host = { kind: 'domain', name: hostText };
  else throw bad('is not a domain, *.domain, IP address, CIDR or localhost:PORT');
  return port === undefined ? { text, host } : { text, host, port };
}

function portOf(p: string, bad: (why: string) => Error): number {
  const n = Number(p);
  if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw bad('has a port that is not 1–65535');
  return n;
}

function parseCidr(text: string, bad: (why: string) => Error): HostPattern {
  const [addr, bitsText] = text.split('/') as [string, string];
  const family = isIP(addr);
  const bits = Number(bitsText);
  const max = family === 4 ? 32 : 128;
  if (!family || !/^\d+$/.test(bitsText ?? '') || bits > max) throw bad('is not a CIDR like 10.0.0.0/8');
  return { kind: 'cidr', base: ipToBigInt(addr), bits, family: family as 4 | 6, text };
}

/** One address form, so `::ffff:127.0.0.1` is 127.0.0.1 and IPv6 has one spelling. */
export function normalIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) === 6) return bigIntToIpv6(ipToBigInt(address));
  return address;
}

export function ipToBigInt(address: string): bigint {
  if (isIP(address) === 4) return address.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const words = (s: string | undefined) => (s ? s.split(':') : []);
  let hi = words(head);
  let lo = tail === undefined ? [] : words(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two words.
  const expand = (list: string[]) =>
    list.flatMap((w) => {
      if (!w.includes('.')) return [w];
      const v = Number(ipToBigInt(w));
      return [((v >>> 16) & 0xffff).toString(16), (v & 0xffff).toString(16)];
    });
  hi = expand(hi);
  lo = expand(lo);
  const all = tail === undefined ? hi : [...hi, ...Array<string>(8 - hi.length - lo.length).fill('0'), ...lo];
  return all.reduce((n, w) => (n << 16n) | BigInt(parseInt(w || '0', 16)), 0n);
}

function bigIntToIpv6(n: bigint): string {
  const words: string[] = [];
  for (let i = 7; i >= 0; i--) words.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return words.join(':');
}

function inCidr(address: string, c: Extract<HostPattern, { kind: 'cidr' }>): boolean {
  const family = isIP(address);
  if (family !== c.family) return false;
  const shift = BigInt((family === 4 ? 32 : 128) - c.bits);
  return ipToBigInt(address) >> shift === c.base >> shift;
}

/** Addresses `on` never reaches unless a destination names them: the host, its networks, the cloud's metadata. */
const INTERNAL: readonly Destination[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/3',
  '::/127',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
].map((c) => parseDestination(c));

export function isInternalAddress(address: string): boolean {
  const ip = normalIp(address);
  return INTERNAL.some((d) => d.host.kind === 'cidr' && inCidr(ip, d.host));
}

export type Verdict =
  { allowed: true; rule?: Destination; address: string } | { allowed: false; rule?: Destination; reason: string };

/** Whether the name (as the client asked for it) matches, before any lookup. */
function nameMatches(p: HostPattern, name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (p.kind === 'domain') return n === p.name;
  if (p.kind === 'wildcard') return n.endsWith('.' + p.suffix);
  if (p.kind === 'localhost') return n === 'localhost';
  return false;
}

function addressMatches(p: HostPattern, address: string): boolean {
  const ip = normalIp(address);
  if (p.kind === 'ip') return ip === p.address;
  if (p.kind === 'cidr') return inCidr(ip, p);
  if (p.kind === 'localhost') return ip === '127.0.0.1' || ip === '0:0:0:0:0:0:0:1';
  return false;
}

function matches(d: Destination, name: string, port: number, address: string): boolean {
  if (d.port !== undefined && d.port !== port) return false;
  return nameMatches(d.host, name) || addressMatches(d.host, address);
}

/** Names (`localhost`) and address patterns say the user meant an internal address; a domain does not. */
function namesInternal(d: Destination): boolean {
  return d.host.kind === 'ip' || d.host.kind === 'cidr' || d.host.kind === 'localhost';
}

/**
 * The decision for a connection to `name:port`, resolved to `address` (the one the proxy will
 * connect to: it never resolves twice, so a name cannot change its answer in between).
 */
export function decide(
  policy: NetworkPolicy,
  name: string,
  port: number,
  address: string,
  /** The address stands for a public one (the server's test resolver maps test names to local origins). */
  options: { publicAddress?: boolean } = {},
): Verdict {
  if (policy.mode === 'off') return { allowed: false, reason: 'network is off for this sandbox' };
  const denied = policy.deny.find((d) => matches(d, name, port, address));
  if (denied) return { allowed: false, rule: denied, reason: `denied by ${denied.text}` };
  const allowed = policy.allow.find((d) => matches(d, name, port, address));
  if (!options.publicAddress && isInternalAddress(address) && !(allowed && namesInternal(allowed)))
    return {
      allowed: false,
      ...(allowed ? { rule: allowed } : {}),
      reason: `${address} is a host-internal address (loopback, private, link-local or metadata); allow it by address or localhost:PORT`,
    };
  if (allowed) return { allowed: true, rule: allowed, address };
  if (policy.mode === 'on') return { allowed: true, address };
  return { allowed: false, reason: `${name}:${port} is not in ${NETWORK_ALLOW_LABEL}` };
}

/** The labels of a policy (what a client sends in CreateSandbox). */
export function networkLabels(
  mode: NetworkMode,
  allow: readonly string[] = [],
  deny: readonly string[] = [],
): Record<string, string> {
  const labels: Record<string, string> = {};
  if (mode === 'off') return labels;
  labels[NETWORK_LABEL] = mode;
  if (allow.length) labels[NETWORK_ALLOW_LABEL] = allow.join(',');
  if (deny.length) labels[NETWORK_DENY_LABEL] = deny.join(',');
  return labels;
}

/** A preset's network: `"off"`, `"on"`, `{ "allow": [...], "deny"?: [...] }` or `{ "mode": "on", "deny": [...] }`. */
export interface PresetNetwork {
  mode: NetworkMode;
  allow: readonly string[];
  deny: readonly string[];
}

export const NETWORK_OFF: PresetNetwork = { mode: 'off', allow: [], deny: [] };

const NETWORK_KEYS = ['mode', 'allow', 'deny'];

/** A preset's `network` value, checked as the server will check it (so a preset fails where it is written). */
export function parsePresetNetwork(raw: unknown): PresetNetwork {
  let n: PresetNetwork;
  if (raw === 'off' || raw === 'on') n = { mode: raw, allow: [], deny: [] };
  else if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    const unknownKey = Object.keys(o).find((k) => !NETWORK_KEYS.includes(k));
    if (unknownKey) throw new NetworkPolicyError(`"network" has no "${unknownKey}" (it takes mode, allow, deny)`);
    const list = (key: 'allow' | 'deny'): string[] => {
      const v = o[key] ?? [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new NetworkPolicyError(`"network.${key}" must be a list of destinations`);
      return v as string[];
    };
    const allow = list('allow');
    const deny = list('deny');
    const mode = o.mode ?? (allow.length > 0 ? 'allow' : 'off');
    if (!(NETWORK_MODES as readonly unknown[]).includes(mode))
      throw new NetworkPolicyError(`"network.mode" must be off, allow or on`);
    n = { mode: mode as NetworkMode, allow, deny };
  } else throw new NetworkPolicyError(`"network" must be "off", "on" or { "allow": [...], "deny": [...] }`);
  networkPolicyOf(presetNetworkLabels(n)); // the server's own check
  return n;
}

/** The labels that ask the server for this network. */
export function presetNetworkLabels(n: PresetNetwork): Record<string, string> {
  return networkLabels(n.mode, n.allow, n.deny);
}

/** "off", "on", "allow @npm, @pypi", "on, deny evil.example": for views and pickers. */
export function describeNetwork(n: PresetNetwork): string {
  const parts: string[] = [n.mode === 'allow' ? `allow ${n.allow.join(', ')}` : n.mode];
  if (n.deny.length) parts.push(`deny ${n.deny.join(', ')}`);
  return parts.join('; ');
}

/** A user's `off`/`on` for every preset (a setting, a flag) over the preset's own network. */
export function withNetworkOverride(n: PresetNetwork, override: 'off' | 'on' | undefined): PresetNetwork {
  if (override === 'off') return NETWORK_OFF;
  if (override === 'on') return { mode: 'on', allow: [], deny: n.deny };
  return n;
}
