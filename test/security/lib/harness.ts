/**
 * Harness for the security and reliability suites: starts the real server process
 * (dist/server.js), talks to it with the generated grpc-js clients, and looks at the host
 * (/proc, mountinfo) to find what a sandbox may have left behind.
 *
 * Everything here is deliberately low level (raw generated clients, raw bytes when needed)
 * so that the tests exercise the wire, not a friendly client that would validate first.
 */
import type { ChildProcess } from 'node:child_process';
import { startServer as startSharedServer, wireRules, type TestServer, type UnaryByName } from '../../helpers/server';
import { commOf, hostProcesses, uidsOf, type HostProcess } from '../../helpers/hostProcesses';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentials,
  Metadata,
  status,
  type CallOptions,
  type ChannelCredentials,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  CodebaseServiceClient,
  type Codebase,
  type ListFilesResponse,
  type UploadResult,
} from '../../../src/generated/codebase';
import {
  SandboxServiceClient,
  ExecOutput_OutputType,
  type ExecOutput,
  type ExecResult,
  type ResourceLimits,
  type Sandbox,
  type Session,
} from '../../../src/generated/sandbox';
import type { PermissionRule } from '../../../src/generated/common';
import { getPreset } from '../../../src/shared/presets';
import type { NormalizedRule } from '../../../src/shared/permissions';

export const ROOT = join(__dirname, '..', '..', '..');
export const SERVER_JS = join(ROOT, 'dist', 'server.js');

/** The host uid the sandbox user (uid 1000 inside) maps to when the server runs as root. */
export const SANDBOX_HOST_UID = 61000;

export type Call = Partial<CallOptions> & { metadata?: Metadata };

// ---------------------------------------------------------------------------------------
// server process

export interface StartOptions {
  /** Reuse a data dir (restart tests). Default: a fresh temp dir, removed by stop(). */
  dataDir?: string;
  /** Listen on 127.0.0.1:<free port> with a token file instead of a Unix socket. */
  tcp?: boolean;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** The runtime every createSandbox() asks for (default bubblewrap): helpers/runtimes.ts. */
  sandboxDefaults?: Partial<Pick<Sandbox, 'runtime' | 'image'>>;
}

export class ServerHandle {
  proc!: ChildProcess;
  address!: string;
  /** The token for TCP servers; sent as `authorization: Bearer <token>`. */
  token?: string;
  codebase!: CodebaseServiceClient;
  sandbox!: SandboxServiceClient;
  private shared?: TestServer;
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly ownsDataDir: boolean;
  readonly dataDir: string;
  readonly workDir: string;
  socketPath?: string;

  constructor(readonly opts: StartOptions = {}) {
    this.workDir = mkdtempSync(join(tmpdir(), 'af-sec-'));
    // The server refuses a data dir the sandbox uid cannot traverse to (it needs o+x on the path).
    chmodSync(this.workDir, 0o711);
    this.ownsDataDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? join(this.workDir, 'data');
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get log(): string {
    return (this.shared?.logs ?? []).slice(-200).join('\n');
  }

  /** Starts the server through the team's shared harness (test/helpers/server.ts). */
  async start(): Promise<this> {
    if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run \`node scripts/build.mjs\` first`);
    const args: string[] = [...(this.opts.extraArgs ?? [])];
    let listen: string;
    if (this.opts.tcp) {
      const port = await freePort();
      this.token ??= randomBytes(24).toString('hex');
      const tokenFile = join(this.workDir, 'token');
      writeFileSync(tokenFile, this.token + '\n', { mode: 0o600 });
      args.push('--token-file', tokenFile);
      listen = `127.0.0.1:${port}`;
    } else {
      this.socketPath ??= join(this.workDir, 'sock');
      listen = `unix:${this.socketPath}`;
    }
    this.address = listen;
    this.shared = await startSharedServer({ dataDir: this.dataDir, listen, args });
    this.proc = this.shared.proc;
    this.exited = this.shared.exited!;
    this.connect();
    await this.waitReady();
    return this;
  }

  /**
   * Starts the server again on the same data dir and address. The existing client objects
   * are kept, so their channels have to reconnect by themselves (as a real client's would).
   */
  async restart(): Promise<this> {
    if (this.alive()) throw new Error('restart() needs the server to be down');
    const args: string[] = [...(this.opts.extraArgs ?? [])];
    if (this.opts.tcp) args.push('--token-file', join(this.workDir, 'token'));
    this.shared = await startSharedServer({ dataDir: this.dataDir, listen: this.address, args });
    this.proc = this.shared.proc;
    this.exited = this.shared.exited!;
    return this;
  }

  connect(): void {
    this.closeClients();
    const creds: ChannelCredentials = credentials.createInsecure();
    const opts = {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    };
    this.codebase = new CodebaseServiceClient(this.address, creds, opts);
    this.sandbox = new SandboxServiceClient(this.address, creds, opts);
  }

  /** Metadata every call carries (the token on TCP). */
  md(): Metadata {
    const m = new Metadata();
    if (this.token) m.set('authorization', `Bearer ${this.token}`);
    return m;
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < end) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`server exited (${this.proc.exitCode ?? this.proc.signalCode}) during start:\n${this.log}`);
      }
      try {
        await this.unary(
          'codebase',
          'listCodebases',
          { ownerId: '', pageSize: 1, pageToken: '' },
          { deadline: Date.now() + 1000 },
        );
        return;
      } catch (e) {
        last = e;
        await sleep(100);
      }
    }
    throw new Error(`server not ready after ${timeoutMs} ms: ${String(last)}\n${this.log}`);
  }

  alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGKILL, no cleanup by the server. */
  async kill(): Promise<void> {
    if (!this.alive()) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM then SIGKILL after a grace period. Removes the temp dirs unless keepData. */
  async stop({ keepData = false } = {}): Promise<void> {
    this.closeClients();
    if (this.alive()) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.alive() && this.proc.kill('SIGKILL'), 8000);
      await this.exited;
      clearTimeout(t);
    }
    if (!keepData) {
      try {
        rmSync(this.workDir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* mounts left behind are reported by the tests, not here */
      }
    }
  }

  closeClients(): void {
    this.codebase?.close();
    this.sandbox?.close();
  }

  // ------------------------------------------------------------------- promisified calls

  unary<T = unknown>(svc: 'codebase' | 'sandbox', method: string, req: unknown, opts: Call = {}): Promise<T> {
    const client = (svc === 'codebase' ? this.codebase : this.sandbox) as unknown as Record<string, UnaryByName<T>>;
    const { metadata, ...callOpts } = opts;
    const md = metadata ?? this.md();
    return new Promise((resolve, reject) => {
      client[method](req, md, callOpts, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  createCodebase(name = 'sec', opts: Call = {}): Promise<Codebase> {
    return this.unary('codebase', 'createCodebase', { name, ownerId: 'security-tests' }, opts);
  }

  /** One UploadFiles call. `totalSize` defaults to the real size; chunks of 64 KiB. */
  upload(
    codebaseId: string,
    filePath: string,
    data: Buffer | string,
    o: { totalSize?: number; chunkSize?: number; deadline?: number } = {},
  ): Promise<UploadResult> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const chunk = o.chunkSize ?? 64 * 1024;
    return new Promise((resolve, reject) => {
      const call = this.codebase.uploadFiles(this.md(), { deadline: o.deadline ?? Date.now() + 60_000 }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
      call.write({ metadata: { codebaseId, filePath, totalSize: o.totalSize ?? buf.length } });
      for (let off = 0; off < buf.length; off += chunk) call.write({ data: buf.subarray(off, off + chunk) });
      call.end();
    });
  }

  async download(codebaseId: string, filePath: string, opts: Call = {}): Promise<Buffer> {
    const { metadata, ...callOpts } = opts;
    const stream = this.codebase.downloadFile({ codebaseId, filePath }, metadata ?? this.md(), {
      deadline: Date.now() + 30_000,
      ...callOpts,
    });
    const parts: Buffer[] = [];
    for await (const c of stream) parts.push(c.data);
    return Buffer.concat(parts);
  }

  async listFiles(
    codebaseId: string,
    path = '',
    recursive = true,
  ): Promise<{ path: string; isDir: boolean; size: number }[]> {
    const r = await this.unary<ListFilesResponse>('codebase', 'listFiles', { codebaseId, path, recursive });
    return r.files;
  }

  async createSandbox(
    codebaseId: string,
    rules: PermissionRule[] = agentSafeRules(),
    resources?: Partial<ResourceLimits>,
    o: { start?: boolean; labels?: Record<string, string> } = {},
  ): Promise<Sandbox> {
    const sb: Sandbox = await this.unary('sandbox', 'createSandbox', {
      codebaseId,
      permissions: rules,
      expiresIn: undefined,
      labels: o.labels ?? {},
      runtime: this.opts.sandboxDefaults?.runtime ?? 1,
      image: this.opts.sandboxDefaults?.image ?? '',
      resources: resources ? { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 0, ...resources } : undefined,
    });
    if (o.start !== false) await this.unary('sandbox', 'startSandbox', { sandboxId: sb.id });
    return sb;
  }

  destroySandbox(sandboxId: string): Promise<unknown> {
    return this.unary('sandbox', 'destroySandbox', { sandboxId });
  }

  exec(
    sandboxId: string,
    command: string,
    o: {
      timeoutSec?: number;
      workdir?: string;
      env?: Record<string, string>;
      stdin?: string;
      deadlineMs?: number;
    } = {},
  ): Promise<ExecResult> {
    return this.unary(
      'sandbox',
      'exec',
      {
        sandboxId,
        command,
        stdin: o.stdin ?? '',
        env: o.env ?? {},
        workdir: o.workdir ?? '',
        timeout: o.timeoutSec ? { seconds: o.timeoutSec, nanos: 0 } : undefined,
      },
      { deadline: Date.now() + (o.deadlineMs ?? ((o.timeoutSec ?? 60) + 30) * 1000) },
    );
  }

  /** ExecStream, collected; at most `maxBytes` kept (the rest is counted, then the call is cancelled). */
  async execStream(
    sandboxId: string,
    command: string,
    o: { timeoutSec?: number; maxBytes?: number; deadlineMs?: number } = {},
  ): Promise<{ stdout: Buffer; stderr: Buffer; total: number; cancelled: boolean; error?: ServiceError }> {
    const stream: ClientReadableStream<ExecOutput> = this.sandbox.execStream(
      {
        sandboxId,
        command,
        stdin: '',
        env: {},
        workdir: '',
        timeout: o.timeoutSec ? { seconds: o.timeoutSec, nanos: 0 } : undefined,
      },
      this.md(),
      { deadline: Date.now() + (o.deadlineMs ?? ((o.timeoutSec ?? 60) + 30) * 1000) },
    );
    const max = o.maxBytes ?? 1 << 20;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let kept = 0;
    let total = 0;
    let cancelled = false;
    try {
      for await (const m of stream as AsyncIterable<ExecOutput>) {
        total += m.data.length;
        if (kept < max) {
          (m.type === ExecOutput_OutputType.OUTPUT_TYPE_STDERR ? err : out).push(m.data);
          kept += m.data.length;
        } else if (!cancelled) {
          cancelled = true;
          stream.cancel();
        }
      }
    } catch (e) {
      const se = e as ServiceError;
      if (!(cancelled && se.code === status.CANCELLED))
        return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), total, cancelled, error: se };
    }
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), total, cancelled };
  }

  createSession(sandboxId: string, shell = '/bin/bash'): Promise<Session> {
    return this.unary('sandbox', 'createSession', { sandboxId, shell, env: {} });
  }

  sessionExec(sessionId: string, command: string, timeoutSec = 30): Promise<ExecResult> {
    return this.unary(
      'sandbox',
      'sessionExec',
      { sessionId, command, timeout: { seconds: timeoutSec, nanos: 0 } },
      { deadline: Date.now() + (timeoutSec + 30) * 1000 },
    );
  }

  destroySession(sessionId: string): Promise<unknown> {
    return this.unary('sandbox', 'destroySession', { sessionId });
  }

  /** A normal call works: the server is up and serving. */
  async healthy(): Promise<boolean> {
    try {
      await this.unary(
        'codebase',
        'listCodebases',
        { ownerId: '', pageSize: 1, pageToken: '' },
        { deadline: Date.now() + 5000 },
      );
      return true;
    } catch {
      return false;
    }
  }
}

export async function startServer(opts: StartOptions = {}): Promise<ServerHandle> {
  return new ServerHandle(opts).start();
}

// ---------------------------------------------------------------------------------------
// rules

export const toWireRules = (rules: readonly NormalizedRule[]): PermissionRule[] => wireRules(rules);

export const agentSafeRules = () => toWireRules(getPreset('agent-safe'));
export const presetRules = (name: string) => toWireRules(getPreset(name));

// ---------------------------------------------------------------------------------------
// the fixture codebase with hidden files

export interface SecretFixture {
  codebaseId: string;
  /** Every string that must never be seen from inside a sandbox. */
  canaries: string[];
  /** Prefix all canaries share (safe to put in a command: it is not a canary itself). */
  prefix: string;
  files: Record<string, string>;
  hidden: string[];
}

export async function uploadSecretFixture(srv: ServerHandle, name = 'secret-fixture'): Promise<SecretFixture> {
  const prefix = 'AFCANARY';
  const c = (what: string) => `${prefix}-${what}-${randomBytes(12).toString('hex')}`;
  const canaries = { env: c('env'), pem: c('pem'), key: c('key'), git: c('git'), cred: c('cred') };
  const files: Record<string, string> = {
    '.env': `API_TOKEN=${canaries.env}\n`,
    'secrets/key.pem': `-----BEGIN PRIVATE KEY-----\n${canaries.pem}\n-----END PRIVATE KEY-----\n`,
    'id_rsa.key': `${canaries.key}\n`,
    '.git/config': `[core]\n\tsecret = ${canaries.git}\n`,
    'config/credentials.json': `{"password":"${canaries.cred}"}\n`,
    'src/app.py': 'print("hello from app")\n',
    'README.md': '# Readme\nnothing secret here\n',
    'output/.keep': '',
  };
  const cb = await srv.createCodebase(name);
  for (const [p, content] of Object.entries(files)) await srv.upload(cb.id, p, content);
  return {
    codebaseId: cb.id,
    canaries: Object.values(canaries),
    prefix,
    files,
    hidden: ['.env', 'secrets/key.pem', 'id_rsa.key', '.git/config', 'config/credentials.json'],
  };
}

// ---------------------------------------------------------------------------------------
// host inspection

/** PIDs of processes running as the given host uid (real or effective). */
export function processesOfUid(uid: number): HostProcess[] {
  return hostProcesses().filter((p) => {
    const ids = uidsOf(p.pid);
    return ids !== undefined && (ids.real === uid || ids.effective === uid);
  });
}

/**
 * Sandbox processes of one server: running as the sandbox uid and living in a mount
 * namespace built from that server's data dir (other servers on this machine — other test
 * suites — run sandboxes as the same uid, so the uid alone is not enough).
 */
export function sandboxProcessesOf(dataDir: string, uid = SANDBOX_HOST_UID): HostProcess[] {
  // The outer bwrap process stays in the host's mount namespace, whose table lists every
  // server's mounts: for processes there, only the command line (bwrap's bind sources) counts.
  let hostNs = '';
  try {
    hostNs = readlinkSync('/proc/self/ns/mnt');
  } catch {
    /* no /proc */
  }
  return processesOfUid(uid).filter((p) => {
    if (p.cmd.includes(dataDir)) return true;
    try {
      if (readlinkSync(`/proc/${p.pid}/ns/mnt`) === hostNs) return false;
      // A sandbox's /workspace is a mount whose source lies under the data dir.
      return readFileSync(`/proc/${p.pid}/mountinfo`, 'utf8')
        .split('\n')
        .some((l) => {
          const f = l.split(' ');
          return (f[4] === '/workspace' || f[4]?.startsWith('/workspace/')) && (f[3] ?? '').startsWith(dataDir + '/');
        });
    } catch {
      return false;
    }
  });
}

/**
 * Sandbox processes that are not a command's: the idle init of a running Docker sandbox's
 * container (pid 1 there, `agentfense-init` with no arguments, possibly behind the egress
 * forwarder). A bubblewrap sandbox has no process between commands; a container has this one,
 * until the sandbox stops.
 */
export function commandProcessesOf(dataDir: string, uid = SANDBOX_HOST_UID): HostProcess[] {
  return sandboxProcessesOf(dataDir, uid).filter((p) => !/(^|\s)\/run\/agentfense\/init$/.test(p.cmd.trim()));
}

/** bwrap processes on the host (any owner). */
export function bwrapProcesses(): HostProcess[] {
  return hostProcesses().filter((p) => commOf(p.pid) === 'bwrap');
}

export { descendantsOf as descendants, processesMatching } from '../../helpers/hostProcesses';

/** Mount points (host mount namespace) at or under `dir`. */
export function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  return lines
    .map((l) => l.split(' ')[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(dir + '/')));
}

export function fdCount(pid: number): number {
  return safeReaddir(`/proc/${pid}/fd`).length;
}

export function fdTargets(pid: number): string[] {
  return safeReaddir(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '?';
    }
  });
}

export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Waits until `fn` returns true (or a falsy-empty array), polling; returns the last value. */
export async function waitFor<T>(fn: () => T, ok: (v: T) => boolean, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = fn();
  while (!ok(v) && Date.now() < end) {
    await sleep(stepMs);
    v = fn();
  }
  return v;
}

function safeReaddir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------
// misc

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The grpc status name of an error, for messages. */
export function codeName(code: number | undefined): string {
  return code === undefined ? 'none' : ((status as unknown as Record<number, string>)[code] ?? String(code));
}

/** Runs `fn` expecting a gRPC error; returns it (fails if the call succeeded). */
export async function expectRpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    const v = await p;
    throw Object.assign(new Error(`expected a gRPC error, the call succeeded: ${JSON.stringify(v)?.slice(0, 300)}`), {
      notRpc: true,
    });
  } catch (e) {
    if ((e as { notRpc?: boolean }).notRpc) throw e;
    return e as ServiceError;
  }
}
