/**
 * E2B's sandbox lifecycle (create, get, list, kill, timeout, pause, connect/resume) on this
 * server's sandboxes: an E2B sandbox is one of ours, with its own codebase (deleted with it),
 * the template's rules and runtime (e2bTemplates.ts), and what E2B keeps about it in labels:
 * the template, the envd access token, the caller's metadata and environment. Its id is ours.
 * A pause is a stop (the files stay in its codebase), a resume a start; a timeout is the
 * sandbox's expiry, after which it is destroyed as E2B kills it.
 */
import { randomBytes } from 'node:crypto';
import { secretMatches } from '../secretMatches';
import { availableParallelism, totalmem } from 'node:os';
import type { CodebaseStore } from '../codebase/store';
import type { SandboxManager } from '../sandbox/sandboxManager';
import type { SandboxRecord } from '../sandbox/sandboxRecord';
import { runtimeOf } from '../sandbox/sandboxRecord';
import type { LiveSandbox } from '../sandbox/liveSandbox';
import { networkLabels, networkPolicyOf, NetworkPolicyError } from '../../shared/networkPolicy';
import { templateFor, unknownTemplate, DEFAULT_TEMPLATE } from './e2bTemplates';
import { E2bError } from './e2bError';

const TEMPLATE_LABEL = 'e2b.template';
const TOKEN_LABEL = 'e2b.token';
const METADATA_LABEL = 'e2b.metadata';
const ENVS_LABEL = 'e2b.envs';
/** The envd version this front speaks (the SDK picks features by it: ≥ 0.5.2 closes stdin; < 0.5.7 uploads as multipart). */
export const ENVD_VERSION = '0.5.2';
/** E2B's default when the caller sets none. */
const DEFAULT_TIMEOUT_S = 300;
/** E2B caps a sandbox's life; so does this front (24 h). */
const MAX_TIMEOUT_S = 24 * 3600;

export interface CreateBody {
  templateID?: unknown;
  timeout?: unknown;
  metadata?: unknown;
  envVars?: unknown;
  allow_internet_access?: unknown;
  network?: unknown;
  autoPause?: unknown;
  volumeMounts?: unknown;
  mcp?: unknown;
  iam?: unknown;
  [key: string]: unknown;
}

/** What the REST API answers about a sandbox (E2B's Sandbox / SandboxDetail shape). */
export interface SandboxJson {
  sandboxID: string;
  templateID: string;
  clientID: string;
  envdVersion: string;
  envdAccessToken?: string;
  domain: null;
  startedAt: string;
  endAt: string;
  state: 'running' | 'paused';
  metadata: Record<string, string>;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
}

export class E2bSandboxes {
  constructor(
    private readonly manager: SandboxManager,
    private readonly store: CodebaseStore,
  ) {
    // A sandbox that expired (or was destroyed over gRPC) takes its own codebase along.
    manager.onDestroyed((r) => {
      if (r.labels[TEMPLATE_LABEL] !== undefined) void store.deleteCodebase(r.codebaseId).catch(() => undefined);
    });
  }

  async create(body: CreateBody): Promise<SandboxJson> {
    for (const unsupported of ['autoPause', 'volumeMounts', 'mcp', 'iam'] as const) {
      const v = body[unsupported];
      if (v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0))
        throw new E2bError(400, `${unsupported} is not supported by this server`);
    }
    const templateId = typeof body.templateID === 'string' && body.templateID ? body.templateID : DEFAULT_TEMPLATE;
    const template = templateFor(templateId);
    if (!template) throw new E2bError(404, unknownTemplate(templateId));
    const timeoutS = timeoutSeconds(body.timeout, DEFAULT_TIMEOUT_S);
    const labels: Record<string, string> = {
      [TEMPLATE_LABEL]: templateId,
      [TOKEN_LABEL]: randomBytes(24).toString('hex'),
      [METADATA_LABEL]: JSON.stringify(stringMap(body.metadata, 'metadata')),
      [ENVS_LABEL]: JSON.stringify(stringMap(body.envVars, 'envVars')),
      ...e2bNetworkLabels(body),
    };
    const codebase = await this.store.createCodebase(`e2b-${templateId}`, 'e2b');
    let created: SandboxRecord | undefined;
    try {
      created = this.manager.create({
        codebaseId: codebase.id,
        rules: [...template.rules],
        labels,
        expiresInMs: timeoutS * 1000,
        runtime: template.runtime,
      });
      await this.manager.start(created.id);
    } catch (err) {
      if (created) await this.manager.destroy(created.id).catch(() => undefined);
      else await this.store.deleteCodebase(codebase.id).catch(() => undefined);
      throw err;
    }
    return this.json(this.manager.get(created.id), true);
  }

  /** An E2B sandbox of this server, or 404. */
  record(sandboxId: string): SandboxRecord {
    let r: SandboxRecord;
    try {
      r = this.manager.get(sandboxId);
    } catch {
      throw new E2bError(404, `sandbox ${sandboxId} not found`);
    }
    if (r.labels[TEMPLATE_LABEL] === undefined) throw new E2bError(404, `sandbox ${sandboxId} not found`);
    return r;
  }

  info(sandboxId: string): SandboxJson {
    return this.json(this.record(sandboxId), false);
  }

  list(filter: { state?: string[]; metadata?: Record<string, string> }): SandboxJson[] {
    return this.manager
      .list('')
      .filter((r) => r.labels[TEMPLATE_LABEL] !== undefined)
      .map((r) => this.json(r, false))
      .filter((s) => !filter.state?.length || filter.state.includes(s.state))
      .filter((s) => Object.entries(filter.metadata ?? {}).every(([k, v]) => s.metadata[k] === v));
  }

  async kill(sandboxId: string): Promise<void> {
    this.record(sandboxId);
    await this.manager.destroy(sandboxId);
  }

  setTimeout(sandboxId: string, timeout: unknown): void {
    this.record(sandboxId);
    this.manager.setExpiry(sandboxId, timeoutSeconds(timeout, DEFAULT_TIMEOUT_S) * 1000);
  }

  async pause(sandboxId: string): Promise<void> {
    const r = this.record(sandboxId);
    if (r.state !== 'running') throw new E2bError(409, `sandbox ${sandboxId} is already paused`);
    await this.manager.stop(sandboxId);
  }

  /** Connect (resuming a paused sandbox), with a new timeout when one is given. */
  async connect(sandboxId: string, timeout: unknown): Promise<SandboxJson> {
    const r = this.record(sandboxId);
    if (r.state !== 'running') await this.manager.start(sandboxId);
    if (timeout !== undefined) this.manager.setExpiry(sandboxId, timeoutSeconds(timeout, DEFAULT_TIMEOUT_S) * 1000);
    return this.json(this.manager.get(sandboxId), true);
  }

  /** The running sandbox an envd call is for, after its access token is checked. */
  forEnvd(sandboxId: string, accessToken: string | undefined): { live: LiveSandbox; envs: Record<string, string> } {
    let r: SandboxRecord;
    try {
      r = this.record(sandboxId);
    } catch {
      throw new E2bError(404, `sandbox ${sandboxId} not found`);
    }
    const token = r.labels[TOKEN_LABEL] ?? '';
    if (!accessToken || !secretMatches(accessToken, token))
      throw new E2bError(401, 'missing or wrong X-Access-Token for this sandbox');
    if (r.state !== 'running') throw new E2bError(502, `sandbox ${sandboxId} is paused; connect to it to resume it`);
    return { live: this.manager.running(sandboxId), envs: parseJson(r.labels[ENVS_LABEL]) };
  }

  private json(r: SandboxRecord, withToken: boolean): SandboxJson {
    const runtime = runtimeOf(r);
    const cpuQuota = r.resources?.cpuQuota ?? 0;
    return {
      sandboxID: r.id,
      templateID: r.labels[TEMPLATE_LABEL] ?? DEFAULT_TEMPLATE,
      clientID: runtime.kind === 'docker' ? 'agentfense-docker' : 'agentfense',
      envdVersion: ENVD_VERSION,
      ...(withToken ? { envdAccessToken: r.labels[TOKEN_LABEL] } : {}),
      domain: null,
      startedAt: r.startedAt ?? r.createdAt,
      endAt: r.expiresAt ?? new Date(Date.now() + MAX_TIMEOUT_S * 1000).toISOString(),
      state: r.state === 'running' ? 'running' : 'paused',
      metadata: parseJson(r.labels[METADATA_LABEL]),
      cpuCount: cpuQuota > 0 ? Math.max(1, Math.round(cpuQuota / 100_000)) : availableParallelism(),
      memoryMB: Math.round((r.resources?.memoryBytes || totalmem()) / 1024 / 1024),
      diskSizeMB: 0,
    };
  }
}

function timeoutSeconds(raw: unknown, fallback: number): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0)
    throw new E2bError(400, `timeout must be a whole number of seconds; got ${JSON.stringify(raw)}`);
  if (raw > MAX_TIMEOUT_S) throw new E2bError(400, `timeout must be at most ${MAX_TIMEOUT_S} seconds; got ${raw}`);
  return raw;
}

function stringMap(raw: unknown, what: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new E2bError(400, `${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new E2bError(400, `${what}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

/**
 * E2B's network options as this server's labels: `allow_internet_access: false` → off;
 * `network.denyOut` with 0.0.0.0/0 and `allowOut` → only those; other `denyOut` → on less them.
 */
export function e2bNetworkLabels(body: CreateBody): Record<string, string> {
  if (body.allow_internet_access === false) return {};
  const n = (body.network ?? {}) as { allowOut?: unknown; denyOut?: unknown };
  const list = (v: unknown, what: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new E2bError(400, `network.${what} must be a list of strings`);
    return v as string[];
  };
  const allowOut = list(n.allowOut, 'allowOut');
  const denyOut = list(n.denyOut, 'denyOut');
  const denyAll = denyOut.some((d) => d === '0.0.0.0/0' || d === '::/0');
  const labels = denyAll
    ? allowOut.length
      ? networkLabels('allow', allowOut)
      : {}
    : networkLabels(
        'on',
        [],
        denyOut.filter((d) => d !== '0.0.0.0/0'),
      );
  try {
    networkPolicyOf(labels);
  } catch (e) {
    if (e instanceof NetworkPolicyError) throw new E2bError(400, `network: ${e.message}`);
    throw e;
  }
  return labels;
}

function parseJson(text: string | undefined): Record<string, string> {
  try {
    const v: unknown = JSON.parse(text ?? '{}');
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}
