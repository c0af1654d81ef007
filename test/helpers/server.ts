/**
 * Test harness for the real server process (dist/server.js — run `node scripts/build.mjs`
 * first): starts it on a unix socket in a temp dir, gives generated grpc-js clients and
 * small promise helpers, and uploads fixture codebases.
 *
 *   const server = await startServer();            // or startServer({ args: ['--cow', 'copy'] })
 *   const cb = await server.createCodebase({ 'src/app.py': 'print(1)\n', '.env': 'KEY=1\n' });
 *   const sb = await server.startSandbox(cb, rules(['**\/*', 'read']));
 *   const r = await server.exec(sb, 'cat src/app.py');
 *   await server.stop();                            // SIGTERM, waits, removes the temp dir
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import {
  CodebaseServiceClient,
  type Codebase,
  type FileInfo,
  type ListFilesResponse,
  type UploadChunk,
} from '../../src/generated/codebase';
import {
  SandboxServiceClient,
  type CreateSandboxRequest,
  type Sandbox,
  type ExecOutput,
  type ExecRequest,
  type ExecResult,
} from '../../src/generated/sandbox';
import { PatternType, Permission, type PermissionRule } from '../../src/generated/common';
import type { NormalizedRule } from '../../src/shared/permissions';
import { rulesToProto } from '../../src/client/convert';
import { processesMatching } from './hostProcesses';
import { settle } from './waitFor';
import { EXIT_CODE_TRAILER, PATHS_MERGED_TRAILER } from '../../src/shared/streamTrailers';

export const SERVER_JS = join(__dirname, '..', '..', 'dist', 'server.js');

export interface StartOptions {
  /** Reuse a data dir (restart tests); otherwise a fresh one, removed by stop(). */
  dataDir?: string;
  /** Extra flags, e.g. ['--cow', 'copy']. */
  args?: string[];
  /** Replace the default `--listen unix:<tmp>/server.sock`. */
  listen?: string;
  /** Environment of the server process (default: the test's own), e.g. a PATH without bwrap. */
  env?: NodeJS.ProcessEnv;
  /** Descriptors the server inherits beyond stdio: child fd number → this process's fd. */
  inheritFds?: Record<number, number>;
  /** Fields every startSandbox() carries unless it says otherwise (a runtime and image: helpers/runtimes.ts). */
  sandboxDefaults?: Partial<CreateSandboxRequest>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- overloaded generated methods
type AnyUnary = (...args: any[]) => unknown;

/** A generated client's unary method picked by name, as the one overload tests call. */
export type UnaryByName<T> = (
  req: unknown,
  md: Metadata,
  opts: Partial<CallOptions>,
  cb: (e: ServiceError | null, r: T) => void,
) => unknown;

/** Calls a unary method of a generated client as a promise: `call<Sandbox>(c, c.getSandbox, req)`. */
export function call<Res>(client: object, method: AnyUnary, req: unknown, metadata = new Metadata()): Promise<Res> {
  const m = method as unknown as (
    req: unknown,
    md: Metadata,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => unknown;
  return new Promise((resolve, reject) =>
    m.call(client, req, metadata, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

const LEVEL: Record<string, Permission> = {
  none: Permission.PERMISSION_NONE,
  view: Permission.PERMISSION_VIEW,
  read: Permission.PERMISSION_READ,
  write: Permission.PERMISSION_WRITE,
};
const TYPE: Record<string, PatternType> = {
  glob: PatternType.PATTERN_TYPE_GLOB,
  directory: PatternType.PATTERN_TYPE_DIRECTORY,
  file: PatternType.PATTERN_TYPE_FILE,
};

/** rules(['**\/*', 'read'], ['/out/**', 'write', 10], ['/cfg.yaml', 'none', 5, 'file']) */
export function rules(...list: [pattern: string, level: string, priority?: number, type?: string][]): PermissionRule[] {
  return list.map(([pattern, level, priority = 0, type = 'glob']) => ({
    pattern,
    permission: LEVEL[level],
    type: TYPE[type],
    priority,
  }));
}

/** Shared-engine rules (presets) on the wire, encoded as the client encodes them. */
export function wireRules(list: readonly NormalizedRule[]): PermissionRule[] {
  return rulesToProto(list);
}

/** A CreateSandboxRequest with every field the generated type requires; `extra` overrides. */
export function createSandboxRequest(
  codebaseId: string,
  permissions: PermissionRule[],
  extra: Partial<CreateSandboxRequest> = {},
): CreateSandboxRequest {
  return {
    codebaseId,
    permissions,
    expiresIn: undefined,
    labels: {},
    runtime: 0,
    image: '',
    resources: undefined,
    ...extra,
  };
}

/** An ExecRequest (also ExecStream's) with the defaults a test does not care about. */
function execRequest(sandboxId: string, command: string, extra: Partial<ExecRequest>): ExecRequest {
  return { sandboxId, command, stdin: '', env: {}, workdir: '', timeout: undefined, ...extra };
}

export class TestServer {
  readonly codebases: CodebaseServiceClient;
  readonly sandboxes: SandboxServiceClient;
  /** Every stderr line so far (structured logs). */
  readonly logs: string[] = [];
  exited?: Promise<number | null>;
  sandboxDefaults: Partial<CreateSandboxRequest> = {};

  constructor(
    readonly proc: ChildProcess,
    readonly address: string,
    readonly dataDir: string,
    private readonly ownsDir: string | undefined,
  ) {
    // Room for big ExecStream chunks and ExecResults (1 MiB per stream) with headroom.
    const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    this.codebases = new CodebaseServiceClient(address, credentials.createInsecure(), options);
    this.sandboxes = new SandboxServiceClient(address, credentials.createInsecure(), options);
  }

  async createCodebase(files: Record<string, string | Buffer>): Promise<string> {
    const cb = await call<Codebase>(this.codebases, this.codebases.createCodebase, {
      name: 'fixture',
      ownerId: 'tests',
    });
    for (const [path, content] of Object.entries(files)) await this.upload(cb.id, path, content);
    return cb.id;
  }

  upload(codebaseId: string, filePath: string, content: string | Buffer): Promise<unknown> {
    const data = Buffer.from(content);
    return new Promise((resolve, reject) => {
      const stream = this.codebases.uploadFiles((err, res) => (err ? reject(err) : resolve(res)));
      const chunks: UploadChunk[] = [{ metadata: { codebaseId, filePath, totalSize: data.length } }];
      for (let i = 0; i < data.length; i += 64 * 1024) chunks.push({ data: data.subarray(i, i + 64 * 1024) });
      for (const c of chunks) stream.write(c);
      stream.end();
    });
  }

  /** File content, or undefined when the codebase has no such file. */
  download(codebaseId: string, filePath: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const s = this.codebases.downloadFile({ codebaseId, filePath });
      s.on('data', (c: { data: Buffer }) => parts.push(c.data));
      s.on('error', (e: ServiceError) => (e.code === 5 ? resolve(undefined) : reject(e)));
      s.on('end', () => resolve(Buffer.concat(parts).toString()));
    });
  }

  async listFiles(codebaseId: string): Promise<string[]> {
    const r = await call<ListFilesResponse>(this.codebases, this.codebases.listFiles, {
      codebaseId,
      path: '',
      recursive: true,
    });
    return r.files
      .filter((f: FileInfo) => !f.isDir)
      .map((f: FileInfo) => f.path)
      .sort();
  }

  /** CreateSandbox + StartSandbox; returns the id. */
  async startSandbox(
    codebaseId: string,
    permissions: PermissionRule[],
    extra: Partial<CreateSandboxRequest> = {},
  ): Promise<string> {
    const sb = await call<Sandbox>(
      this.sandboxes,
      this.sandboxes.createSandbox,
      createSandboxRequest(codebaseId, permissions, { ...this.sandboxDefaults, ...extra }),
    );
    await call(this.sandboxes, this.sandboxes.startSandbox, { sandboxId: sb.id });
    return sb.id;
  }

  exec(sandboxId: string, command: string, extra: Partial<ExecRequest> = {}): Promise<ExecResult> {
    return call<ExecResult>(this.sandboxes, this.sandboxes.exec, execRequest(sandboxId, command, extra));
  }

  /** ExecStream collected: chunks in order, and the exit code and merge count from the trailers. */
  execStream(
    sandboxId: string,
    command: string,
    extra: Partial<ExecRequest> = {},
  ): Promise<{ stdout: string; stderr: string; exitCode?: number; pathsMerged?: number }> {
    return new Promise((resolve, reject) => {
      const out = {
        stdout: '',
        stderr: '',
        exitCode: undefined as number | undefined,
        pathsMerged: undefined as number | undefined,
      };
      const s = this.sandboxes.execStream(execRequest(sandboxId, command, extra));
      s.on('data', (o: ExecOutput) =>
        o.type === 1 ? (out.stdout += o.data.toString()) : (out.stderr += o.data.toString()),
      );
      s.on('status', (st: { metadata: Metadata }) => {
        const code = st.metadata.get(EXIT_CODE_TRAILER)[0];
        if (code !== undefined) out.exitCode = Number(code);
        const merged = st.metadata.get(PATHS_MERGED_TRAILER)[0];
        if (merged !== undefined) out.pathsMerged = Number(merged);
      });
      s.on('error', reject);
      s.on('end', () => setImmediate(() => resolve(out)));
    });
  }

  /** SIGTERM (or the given signal) and wait for the exit code; removes the temp dir it made. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', { keepDir = false } = {}): Promise<number | null> {
    this.codebases.close();
    this.sandboxes.close();
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    const code = await this.exited!;
    // Every test run doubles as a leak check: a graceful stop leaves no sandbox process.
    if (signal === 'SIGTERM') {
      const left = await sandboxProcessesOutliving(this.dataDir);
      if (left.length > 0) throw new Error(`sandbox processes outlived the server:\n${left.join('\n')}`);
    }
    if (this.ownsDir && !keepDir) fs.rmSync(this.ownsDir, { recursive: true, force: true });
    return code;
  }
}

/** Processes whose command line names a sandbox under `dataDir`, after up to 2 s for them to die; killed if they did not. */
async function sandboxProcessesOutliving(dataDir: string): Promise<string[]> {
  const marker = join(dataDir, 'sandboxes') + '/';
  const find = () => processesMatching(marker).map((p) => p.pid);
  const left = await settle(find, (pids) => pids.length === 0, 2_000);
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left.map((p) => `pid ${p}`);
}

/** A temp dir the sandbox user (uid 61000) can traverse, as the server requires. */
export function makeTempDir(prefix = 'af-server-'): string {
  const dir = fs.mkdtempSync(join(tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

// Every server this test process started and that has not exited: a test that fails (or a file
// cut short by --test-force-exit) must not leave servers behind, so they die with this process.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const ownsDir = o.dataDir ? undefined : makeTempDir();
  const dataDir = o.dataDir ?? join(ownsDir!, 'data');
  const listen = o.listen ?? `unix:${join(ownsDir ?? fs.mkdtempSync(join(tmpdir(), 'af-sock-')), 'server.sock')}`;
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
  for (const [childFd, fd] of Object.entries(o.inheritFds ?? {})) {
    while (stdio.length <= Number(childFd)) stdio.push('ignore');
    stdio[Number(childFd)] = fd;
  }
  const proc = spawn(process.execPath, [SERVER_JS, '--listen', listen, '--data-dir', dataDir, ...(o.args ?? [])], {
    stdio,
    env: o.env ?? process.env,
  });
  const logs: string[] = [];
  running.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        if (line.includes('"event":"listening"')) resolve(JSON.parse(line).address);
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`)));
  });
  const server = new TestServer(proc, address, dataDir, ownsDir);
  server.logs.push(...logs.splice(0));
  proc.stderr!.on('data', () => server.logs.push(...logs.splice(0)));
  server.exited = exited;
  server.sandboxDefaults = o.sandboxDefaults ?? {};
  return server;
}
