/**
 * The server process: opens the codebase store, recovers sandboxes, serves both gRPC
 * services on a unix socket (0600) or on TCP with a bearer token, and shuts down cleanly on
 * SIGTERM/SIGINT (sandboxes stopped, mounts removed, state flushed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { dirname, resolve } from 'node:path';
import { Server, ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import { CodebaseServiceService } from '../generated/codebase';
import { BatchUploadServiceService } from '../generated/batch_upload';
import { SandboxServiceService } from '../generated/sandbox';
import { CodebaseStore } from './codebase/store';
import { createBatchUploadService, createCodebaseService } from './codebase/service';
import { createLogger } from './logger';
import { UsageError, type ServerOptions } from './serverOptions';
import { authInterceptor, loggingInterceptor } from './rpcInterceptors';
import { addStrictService } from './strictDecoding';
import { sandboxIdentity, type SandboxIdentity } from './sandbox/sandboxIdentity';
import { ViewCache } from './sandbox/viewCache';
import { CgroupLimits } from './sandbox/cgroupLimits';
import { SandboxManager } from './sandbox/sandboxManager';
import { createSandboxService } from './sandbox/sandboxService';
import { overlaySafePath } from './sandbox/hostMounts';
import { installSupervisorShell } from './sandbox/sessionSupervisor';
import type { CowMode } from './sandbox/writableLayer';

export async function runServer(options: ServerOptions): Promise<void> {
  const log = createLogger(options.logLevel);
  const identity = sandboxIdentity(options.sandboxUid);
  const cowMode: CowMode = options.cow === 'auto' ? (identity.serverIsRoot ? 'overlay' : 'copy') : options.cow;
  if (cowMode === 'overlay' && !identity.serverIsRoot) throw new UsageError('--cow overlay needs a server running as root (it mounts overlayfs); use --cow copy');
  const dataDir = prepareDataDir(options.dataDir, identity, cowMode);
  installSupervisorShell(dataDir, identity);
  const token = options.tokenFile ? readToken(options.tokenFile) : undefined;

  const store = await CodebaseStore.open(dataDir, identity.serverIsRoot ? { blobOwner: { uid: identity.uid, gid: identity.gid } } : {});
  const cgroups = new CgroupLimits(identity, createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
  const views = new ViewCache(dataDir, store, identity);
  const manager = new SandboxManager({ dataDir, store, views, identity, cowMode, cgroups, log });
  await manager.recover();
  store.setInUseCheck((id) => manager.sandboxUsing(id));

  const interceptors: ServerInterceptor[] = [loggingInterceptor(log)];
  if (token) interceptors.push(authInterceptor(token));
  const server = new Server({ interceptors, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  // Strict decoding: invalid UTF-8 or an out-of-range int64 is INVALID_ARGUMENT, never a
  // silently altered request or an INTERNAL from grpc-js.
  addStrictService(server, CodebaseServiceService, createCodebaseService(store));
  addStrictService(server, BatchUploadServiceService, createBatchUploadService(store));
  addStrictService(server, SandboxServiceService, createSandboxService(manager, cgroups));

  const address = await listen(server, options.listen);
  log.info('server ready', { dataDir, cow: cowMode, sandboxUid: identity.uid, auth: token ? 'bearer' : 'unix socket' });
  process.stderr.write(JSON.stringify({ event: 'listening', address }) + '\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
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
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * The data dir must be reachable by the sandbox user: bwrap resolves the view and layer
 * paths as that user. Inside it, the server keeps modes tight (0711 directories).
 */
function prepareDataDir(dir: string, identity: SandboxIdentity, cowMode: CowMode): string {
  const abs = resolve(dir);
  if (cowMode === 'overlay' && !overlaySafePath(abs)) throw new UsageError(`--data-dir ${abs} contains a character overlayfs options cannot carry (, : \\)`);
  if (!fs.existsSync(abs)) fs.mkdirSync(abs, { recursive: true, mode: 0o711 });
  fs.chmodSync(abs, 0o711);
  if (identity.serverIsRoot) {
    for (let d = dirname(abs); ; d = dirname(d)) {
      const st = fs.statSync(d);
      if ((st.mode & 0o001) === 0 && st.uid !== identity.uid) {
        throw new UsageError(`the sandbox user (uid ${identity.uid}) cannot reach --data-dir ${abs}: ${d} is not searchable by others (chmod o+x ${d}, or pick another data dir)`);
      }
      if (d === '/') break;
    }
  }
  return abs;
}

function readToken(file: string): string {
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!token) throw new UsageError(`--token-file ${file} is empty`);
  return token;
}

async function listen(server: Server, spec: string): Promise<string> {
  if (!spec.startsWith('unix:')) {
    const port = await new Promise<number>((ok, fail) => server.bindAsync(spec, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
    return spec.replace(/:\d+$/, `:${port}`);
  }
  const path = resolve(spec.slice(5));
  const parent = dirname(path);
  if (!fs.existsSync(parent)) fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  if (fs.existsSync(path)) {
    if (!fs.lstatSync(path).isSocket()) throw new UsageError(`${path} exists and is not a socket; refusing to replace it`);
    if (await socketAnswers(path)) throw new UsageError(`another server is already listening on ${path}`);
    fs.rmSync(path); // stale socket of a server that died
  }
  // umask makes the socket 0600 from the moment it exists; chmod is belt and braces.
  const oldUmask = process.umask(0o177);
  try {
    await new Promise<number>((ok, fail) => server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
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

