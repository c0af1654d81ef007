/**
 * A sandbox's network, when its policy lets anything out: its egress proxy (a Unix socket in
 * the server's egress folder), what bwrap binds into the sandbox (the forwarder, execute-only,
 * and the socket), the wrapper that starts the forwarder before each program, the proxy
 * variables the usual tools read, and the connections it refused. Every sandbox keeps its own
 * network namespace: nothing but this socket leads out of it.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { NetworkPolicy } from '../../shared/networkPolicy';
import type { SandboxIdentity } from '../sandbox/sandboxIdentity';
import { builtHelper } from '../sandbox/runtime/installedProgram';
import type { ContainerEgress } from '../sandbox/docker/containerConfig';
import { EgressProxy, type RefusedConnection, type Resolution } from './egressProxy';

/** Where the forwarder listens inside the sandbox (HTTP, CONNECT and SOCKS5 on one port). */
export const PROXY_PORT = 3128;
const FORWARDER_IN_SANDBOX = '/run/agentfense/netfwd';
const SOCKET_IN_SANDBOX = '/run/agentfense/egress.sock';
/** Refusals kept per sandbox for its owner; older ones go first. */
const MAX_REFUSALS = 200;

/** The forwarder (dist/agentfense-netfwd), the only way out of a sandbox with network. */
export const FORWARDER = builtHelper(
  'agentfense-netfwd',
  'src/server/network/netForwarder.c',
  'a sandbox with network',
);

/** The proxy variables of curl, wget, git, pip, npm, Python, Node (≥ 24 with NODE_USE_ENV_PROXY). */
export function proxyEnv(): Record<string, string> {
  const http = `http://127.0.0.1:${PROXY_PORT}`;
  const socks = `socks5h://127.0.0.1:${PROXY_PORT}`;
  const none = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    http_proxy: http,
    https_proxy: http,
    ALL_PROXY: socks,
    all_proxy: socks,
    NO_PROXY: none,
    no_proxy: none,
    npm_config_proxy: http,
    npm_config_https_proxy: http,
    PIP_PROXY: http,
    NODE_USE_ENV_PROXY: '1',
  };
}

export interface SandboxEgressOptions {
  /** The server's egress folder (short: a Unix socket path has ~107 bytes). */
  egressDir: string;
  sandboxId: string;
  dataDir: string;
  identity: SandboxIdentity;
  policy: NetworkPolicy;
  resolve: (host: string) => Promise<Resolution>;
}

export class SandboxEgress {
  private readonly refusals: RefusedConnection[] = [];

  private constructor(
    private readonly proxy: EgressProxy,
    private readonly socketPath: string,
    private readonly dataDir: string,
  ) {}

  /** Undefined when the policy lets nothing out (`off`): the namespace's loopback is all there is. */
  static async open(o: SandboxEgressOptions): Promise<SandboxEgress | undefined> {
    if (o.policy.mode === 'off') return undefined;
    if (!FORWARDER.isInstalled(o.dataDir)) throw FORWARDER.missing();
    const socketPath = join(o.egressDir, `${o.sandboxId}.sock`);
    fs.rmSync(socketPath, { force: true });
    let egress: SandboxEgress | undefined;
    const proxy = await EgressProxy.listen({
      socketPath,
      policy: o.policy,
      resolve: o.resolve,
      onRefused: (r) => egress?.refused(r),
    });
    // The sandbox's user connects (its group, which no other account shares, under a root server).
    if (o.identity.serverIsRoot) {
      fs.chownSync(socketPath, 0, o.identity.gid);
      fs.chmodSync(socketPath, 0o660);
    } else fs.chmodSync(socketPath, 0o600);
    egress = new SandboxEgress(proxy, socketPath, o.dataDir);
    return egress;
  }

  /** bwrap arguments: the forwarder and the proxy's socket, read-only. */
  bindArgs(): string[] {
    return [
      '--ro-bind',
      FORWARDER.path(this.dataDir),
      FORWARDER_IN_SANDBOX,
      '--ro-bind',
      this.socketPath,
      SOCKET_IN_SANDBOX,
    ];
  }

  /** The same for a Docker sandbox: its init runs behind the forwarder (docker/containerConfig.ts). */
  containerEgress(): ContainerEgress {
    return {
      forwarder: { hostPath: FORWARDER.path(this.dataDir), inSandbox: FORWARDER_IN_SANDBOX },
      socket: { hostPath: this.socketPath, inSandbox: SOCKET_IN_SANDBOX },
      prefix: [FORWARDER_IN_SANDBOX, String(PROXY_PORT), SOCKET_IN_SANDBOX],
    };
  }

  /** `program`, run once the forwarder listens. */
  wrap(program: readonly string[]): string[] {
    return [FORWARDER_IN_SANDBOX, String(PROXY_PORT), SOCKET_IN_SANDBOX, ...program];
  }

  /** The connections refused since `since` (seconds since the epoch). */
  refusedSince(since: number): RefusedConnection[] {
    return this.refusals.filter((r) => r.time >= since);
  }

  private refused(r: RefusedConnection): void {
    this.refusals.push(r);
    if (this.refusals.length > MAX_REFUSALS) this.refusals.shift();
  }

  close(): Promise<void> {
    return this.proxy.close();
  }
}
