/**
 * The server process: opens the codebase store, recovers sandboxes, serves both gRPC
 * services on a unix socket (0600) or on TCP with a bearer token, and shuts down cleanly on
 * SIGTERM/SIGINT (sandboxes stopped, mounts removed, state flushed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { Server, ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import { CodebaseServiceService } from '../generated/codebase';
import { BatchUploadServiceService } from '../generated/batch_upload';
import { TerminalServiceService } from '../generated/terminal';
import { createTerminalService } from './sandbox/terminalService';
import { PTY_HELPER } from './sandbox/runtime/ptyTerminal';
import { STRACE } from './sandbox/audit/auditedCommand';
import { FORWARDER } from './network/sandboxEgress';
import { DockerEngine } from './sandbox/docker/dockerEngine';
import { startE2bFront } from './e2b/e2bFront';
import { E2bSandboxes } from './e2b/e2bSandboxes';
import { CONTAINER_INIT } from './sandbox/docker/containerConfig';
import { egressResolver } from './network/egressResolver';
import { SandboxServiceService } from '../generated/sandbox';
import { CodebaseStore } from './codebase/store';
import { createBatchUploadService, createCodebaseService } from './codebase/service';
import { createLogger } from './logger';
import { UsageError, type ServerOptions } from './serverOptions';
import { authInterceptor, loggingInterceptor } from './rpc/interceptors';
import { addStrictService } from './rpc/strictDecoding';
import { accountsSharingGroup, sandboxIdentity, type SandboxIdentity } from './sandbox/sandboxIdentity';
import { systemBindOverlapping } from './sandbox/runtime/systemBinds';
import { sandboxWalkDir } from './dataDirAccess';
import { ViewCache } from './sandbox/view/viewCache';
import { CgroupLimits } from './sandbox/runtime/cgroupLimits';
import { SandboxManager } from './sandbox/sandboxManager';
import { createSandboxService } from './sandbox/sandboxService';
import { overlaySafePath } from './sandbox/view/hostMounts';
import { HostCheck } from './hostCheck/hostCheck';
import { installSupervisorShell } from './sandbox/runtime/sessionSupervisor';
import type { CowMode } from './sandbox/view/writableLayer';
import { LaunchGate } from './sandbox/runtime/launchGate';

/** A launch holds its slot at most this long (launchGate.ts): set-up is done by then. */
const LAUNCH_HOLD_MS = 1000;

export async function runServer(options: ServerOptions): Promise<void> {
  const log = createLogger(options.logLevel);
  const identity = sandboxIdentity(options.sandboxUid);
  refuseHostPathsSandboxesSee(options);
  if (identity.serverIsRoot) {
    const sharing = accountsSharingGroup(identity);
    if (sharing.length > 0) {
      throw new UsageError(
        `the sandbox's group (gid ${identity.gid}) is shared with ${sharing.join(', ')}: they could enter the data dir. ` +
          'Pick a --sandbox-uid whose group no other account uses (the default, 61000, usually has no account at all).',
      );
    }
  }
  const cowMode: CowMode = options.cow === 'auto' ? (identity.serverIsRoot ? 'overlay' : 'copy') : options.cow;
  if (cowMode === 'overlay' && !identity.serverIsRoot)
    throw new UsageError('--cow overlay needs a server running as root (it mounts overlayfs); use --cow copy');
  const dataDir = prepareDataDir(options.dataDir, identity, cowMode);
  installSupervisorShell(dataDir, identity);
  if (!STRACE.install(dataDir, identity))
    log.warn('no strace on this host: audited commands will fail (apt-get install -y strace)');
  if (!PTY_HELPER.install(dataDir, identity))
    log.warn('no terminal helper in this build: OpenTerminal will fail (rebuild with node scripts/build.mjs)');
  if (!FORWARDER.install(dataDir, identity))
    log.warn(
      'no egress forwarder in this build: sandboxes with network will fail (rebuild with node scripts/build.mjs)',
    );
  const initInstalled = CONTAINER_INIT.install(dataDir, identity);
  if (!initInstalled)
    log.warn('no container runner in this build: Docker sandboxes will fail (rebuild with node scripts/build.mjs)');
  const egressDir = makeEgressDir(identity);
  const token = options.tokenFile ? readToken(options.tokenFile, '--token-file') : undefined;
  const e2bKey = options.e2b ? readToken(options.e2b.keyFile, '--e2b-key-file') : undefined;

  const store = await CodebaseStore.open(dataDir, {
    log,
    ...(identity.serverIsRoot ? { blobReaderGroup: identity.gid } : {}),
  });
  // Names this server's cgroups and containers (another data dir, another server).
  const serverTag = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const cgroups = new CgroupLimits(identity, serverTag);
  const docker = new DockerEngine(options.dockerSocket);
  const views = new ViewCache(dataDir, store, identity, cowMode === 'overlay');
  const launchGate = new LaunchGate(options.launchSlots, LAUNCH_HOLD_MS);
  const { mergeLimits, shmBytes } = options;
  const manager = new SandboxManager({
    dataDir,
    store,
    views,
    identity,
    cowMode,
    cgroups,
    log,
    mergeLimits,
    shmBytes,
    launchGate,
    egressDir,
    resolveEgress: egressResolver(options.networkTestHosts),
    docker,
    serverTag,
  });
  // Defaults apply where this host can enforce them; explicit limits it cannot are refused.
  const { limits: defaultLimits, dropped } = cgroups.enforceablePart(options.defaultLimits);
  if (dropped.length > 0)
    log.warn('default resource limits not applied: this host cannot enforce them', { limits: dropped });
  await manager.recover();
  store.setInUseCheck((id) => manager.sandboxUsing(id));
  const host = new HostCheck(identity, log);

  const interceptors: ServerInterceptor[] = [loggingInterceptor(log)];
  if (token) interceptors.push(authInterceptor(token));
  const server = new Server({ interceptors, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  // Strict decoding: invalid UTF-8 or an out-of-range int64 is INVALID_ARGUMENT, never a
  // silently altered request or an INTERNAL from grpc-js.
  addStrictService(server, CodebaseServiceService, createCodebaseService(store));
  addStrictService(server, BatchUploadServiceService, createBatchUploadService(store));
  addStrictService(
    server,
    SandboxServiceService,
    createSandboxService(manager, cgroups, host, defaultLimits, {
      engine: docker,
      defaultLimits: options.defaultLimits,
      initInstalled,
    }),
  );
  addStrictService(server, TerminalServiceService, createTerminalService(manager));

  const address = await listen(server, options.listen);
  log.info('server ready', {
    dataDir,
    cow: cowMode,
    sandboxUid: identity.uid,
    auth: token ? 'bearer' : 'unix socket',
    defaultLimits,
    mergeLimits,
    shmBytes,
    launchSlots: launchGate.slots,
  });
  const e2b =
    options.e2b && e2bKey
      ? await startE2bFront({
          listen: options.e2b.listen,
          apiKey: e2bKey,
          sandboxes: new E2bSandboxes(manager, store),
          log,
        })
      : undefined;
  process.stderr.write(JSON.stringify({ event: 'listening', address, ...(e2b ? { e2b: e2b.url } : {}) }) + '\n');
  // After listening: clients connect while bwrap is tried; sandbox calls wait for the verdict.
  void host.readiness().catch(() => undefined);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await host.dispose();
    await e2b?.close();
    await manager.shutdown();
    await store.close();
    await new Promise<void>((done) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        done();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(force);
        done();
      });
    });
    if (options.listen.startsWith('unix:')) fs.rmSync(options.listen.slice(5), { force: true });
    fs.rmSync(egressDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Where sandboxes' egress proxies listen: a fresh private folder in the temp dir (a Unix
 * socket path must be short, and a data dir may be deep). Under a root server, bwrap (as the
 * sandbox user) binds a socket from it: root:<sandbox gid> 0710, like the data dir.
 */
function makeEgressDir(identity: SandboxIdentity): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'agentfense-egress-'));
  sandboxWalkDir(dir, identity);
  return dir;
}

/**
 * A data dir or socket inside a directory every sandbox sees read-only (/etc, /usr, …) would
 * be readable from every sandbox. Refused before anything is created.
 */
function refuseHostPathsSandboxesSee(options: ServerOptions): void {
  const dataBind = systemBindOverlapping(options.dataDir, true);
  if (dataBind) {
    throw new UsageError(
      `--data-dir ${resolve(options.dataDir)} overlaps ${dataBind}, which every sandbox sees read-only: sandboxes could read the stored codebases. Pick a data dir outside the system directories.`,
    );
  }
  if (options.listen.startsWith('unix:')) {
    const socketBind = systemBindOverlapping(options.listen.slice(5), false);
    if (socketBind) {
      throw new UsageError(
        `--listen ${options.listen} is inside ${socketBind}, which every sandbox sees read-only: sandboxes could connect to the server. Pick a socket path outside the system directories.`,
      );
    }
  }
}

/**
 * The data dir: root:<sandbox gid> 0710 under a root server (bwrap resolves the view and
 * layer paths as the sandbox user), 0700 otherwise; see dataDirAccess.ts for what is inside.
 */
function prepareDataDir(dir: string, identity: SandboxIdentity, cowMode: CowMode): string {
  const abs = resolve(dir);
  if (cowMode === 'overlay' && !overlaySafePath(abs))
    throw new UsageError(`--data-dir ${abs} contains a character overlayfs options cannot carry (, : \\ ")`);
  sandboxWalkDir(abs, identity);
  if (identity.serverIsRoot) {
    for (let d = dirname(abs); ; d = dirname(d)) {
      const st = fs.statSync(d);
      if ((st.mode & 0o001) === 0 && st.uid !== identity.uid) {
        throw new UsageError(
          `the sandbox user (uid ${identity.uid}) cannot reach --data-dir ${abs}: ${d} is not searchable by others (chmod o+x ${d}, or pick another data dir)`,
        );
      }
      if (d === '/') break;
    }
  }
  return abs;
}

function readToken(file: string, flag: string): string {
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!token) throw new UsageError(`${flag} ${file} is empty`);
  return token;
}

async function listen(server: Server, spec: string): Promise<string> {
  if (!spec.startsWith('unix:')) {
    const port = await new Promise<number>((ok, fail) =>
      server.bindAsync(spec, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
    );
    return spec.replace(/:\d+$/, `:${port}`);
  }
  const path = resolve(spec.slice(5));
  const parent = dirname(path);
  if (!fs.existsSync(parent)) fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  if (fs.existsSync(path)) {
    if (!fs.lstatSync(path).isSocket())
      throw new UsageError(`${path} exists and is not a socket; refusing to replace it`);
    if (await socketAnswers(path)) throw new UsageError(`another server is already listening on ${path}`);
    fs.rmSync(path); // stale socket of a server that died
  }
  // umask makes the socket 0600 from the moment it exists; chmod is belt and braces.
  const oldUmask = process.umask(0o177);
  try {
    await new Promise<number>((ok, fail) =>
      server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
    );
  } finally {
    process.umask(oldUmask);
  }
  fs.chmodSync(path, 0o600);
  return `unix:${path}`;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}
