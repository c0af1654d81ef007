/**
 * Where a cloud backend's sandboxes live. E2B, Tencent Cloud's Agent Sandbox (AGS) and PPIO all
 * speak E2B's protocol and differ only in their domain; `custom` is any E2B-protocol server
 * (the embedded server's E2B front, a self-hosted E2B) named by its API and sandbox URLs.
 */
export const CLOUD_PROVIDERS = ['e2b', 'tencent-ags', 'ppio', 'custom'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

/** The domain each hosted provider documents for E2B's SDK (`E2B_DOMAIN`). */
export const PROVIDER_DOMAINS: Readonly<Record<Exclude<CloudProvider, 'custom'>, string>> = {
  e2b: 'e2b.app',
  'tencent-ags': 'ap-guangzhou.tencentags.com',
  ppio: 'sandbox.ppio.com',
};

export const PROVIDER_NAMES: Readonly<Record<CloudProvider, string>> = {
  e2b: 'E2B',
  'tencent-ags': 'Tencent Cloud AGS',
  ppio: 'PPIO',
  custom: 'custom E2B server',
};

export interface CloudSettings {
  provider: CloudProvider;
  /** A domain instead of the provider's (another AGS region, say); `custom` may give one instead of URLs. */
  domain?: string;
  /** `custom`: the REST API's URL (`E2B_API_URL`). */
  apiUrl?: string;
  /** `custom`: the sandboxes' URL (`E2B_SANDBOX_URL`); the API URL when absent. */
  sandboxUrl?: string;
  /** The template new sandboxes are made from. */
  template: string;
  /** How long an idle sandbox lives before the provider ends it; the backend extends it while in use. */
  timeoutMs: number;
}

export class CloudSettingsError extends Error {}

/** What E2B's SDK takes to reach the provider (with the API key added by the caller). */
export interface ProviderConnection {
  domain?: string;
  apiUrl?: string;
  sandboxUrl?: string;
}

export function parseProvider(raw: unknown): CloudProvider {
  if (typeof raw === 'string' && (CLOUD_PROVIDERS as readonly string[]).includes(raw)) return raw as CloudProvider;
  throw new CloudSettingsError(
    `unknown cloud provider ${JSON.stringify(raw)}: use one of ${CLOUD_PROVIDERS.map((p) => `"${p}"`).join(', ')}`,
  );
}

function httpUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CloudSettingsError(`${what} is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new CloudSettingsError(`${what} must be an http(s) URL, not ${url.protocol}`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    throw new CloudSettingsError(
      `${what} uses plain http to ${url.hostname}: the API key and your files would cross the network unencrypted; use https (plain http is for this machine only)`,
    );
  return url.href.replace(/\/$/, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The SDK's connection options for the settings, or an error that says which setting is wrong. */
export function providerConnection(s: CloudSettings): ProviderConnection {
  const domain = s.domain?.trim();
  if (domain !== undefined && domain !== '' && !/^[a-z0-9.-]+(:\d+)?$/i.test(domain))
    throw new CloudSettingsError(`the cloud domain ${JSON.stringify(domain)} is not a host name`);
  if (s.provider !== 'custom') {
    if (s.apiUrl || s.sandboxUrl)
      throw new CloudSettingsError(
        `API and sandbox URLs are for the "custom" provider; ${PROVIDER_NAMES[s.provider]} is reached through its domain`,
      );
    return { domain: domain || PROVIDER_DOMAINS[s.provider] };
  }
  if (s.apiUrl) {
    const apiUrl = httpUrl(s.apiUrl, 'the cloud API URL');
    return { apiUrl, sandboxUrl: s.sandboxUrl ? httpUrl(s.sandboxUrl, 'the cloud sandbox URL') : apiUrl };
  }
  if (domain) return { domain };
  throw new CloudSettingsError('the "custom" cloud provider needs an API URL (or a domain)');
}

/** "PPIO (sandbox.ppio.com)", "custom E2B server (http://127.0.0.1:49999)". */
export function describeProvider(s: CloudSettings): string {
  const c = providerConnection(s);
  return `${PROVIDER_NAMES[s.provider]} (${c.apiUrl ?? c.domain})`;
}
