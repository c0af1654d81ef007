/** Command-line flags of `node dist/server.js`. */
import { isLogLevel, type LogLevel } from './logger';
import { DEFAULT_MERGE_LIMITS, parseByteSize, type MergeLimits } from './sandbox/view/mergeLimits';
import { hostDefaultLimits } from './sandbox/runtime/defaultLimits';
import type { ResourceLimitValues } from './sandbox/runtime/cgroupLimits';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { dockerSocketPath } from './sandbox/docker/dockerEngine';

export type CowFlag = 'auto' | 'overlay' | 'copy';

export interface ServerOptions {
  /** `unix:/path/to.sock` or `host:port`. */
  listen: string;
  dataDir: string;
  tokenFile?: string;
  cow: CowFlag;
  sandboxUid?: number;
  logLevel: LogLevel;
  mergeLimits: MergeLimits;
  /** Applied to every sandbox where the host can enforce them; 0 = no default for that field. */
  defaultLimits: ResourceLimitValues;
  shmBytes: number;
  /** bwrap launches in set-up at once (launchGate.ts). */
  launchSlots: number;
  /**
   * Test origins for the egress proxy's resolver (`allowed.test` → 127.0.0.1), treated as public
   * addresses: how tests stand in for the internet on a machine without it.
   */
  networkTestHosts: ReadonlyMap<string, string>;
  /** The Docker engine's socket for Docker sandboxes (--docker-host, DOCKER_HOST, /var/run/docker.sock). */
  dockerSocket: string;
  /** The E2B front (src/server/e2b/): where it listens and the file holding the API key it accepts. */
  e2b?: { listen: string; keyFile: string };
}

const MiB = 1024 * 1024;
const DEFAULT_SHM_BYTES = 512 * MiB;

/** A wrong flag or a setting that cannot work: told plainly on stderr, exit code 2. */
export class UsageError extends Error {}

/** `--help`/`-h`: the usage goes to stdout and the process exits 0. */
export class HelpRequested extends Error {}

export const USAGE = `usage: node dist/server.js --listen unix:PATH|HOST:PORT --data-dir DIR
  [--token-file FILE]        required for TCP; clients send "authorization: Bearer <token>"
  [--cow auto|overlay|copy]  copy-on-write layers (auto: overlay when running as root)
  [--sandbox-uid N]          host uid sandboxes run as when the server is root (default 61000)
  [--log-level debug|info|warn|error]
  [--max-merge-bytes SIZE]   bytes merged after one command, holes included (default 4G)
  [--max-merge-files N]      files merged after one command (default 200000)
  [--max-merge-depth N]      path components of a merged path (default 256)
  [--layer-quota SIZE]       a sandbox's writable layer (+ /tmp as root, a tmpfs) (default 8G)
  [--default-memory SIZE]    memory limit of sandboxes that ask for none (default: half the RAM, at most 8G; 0 = none)
  [--default-pids N]         process limit of sandboxes that ask for none (default 4096; 0 = none)
  [--default-cpu-quota US]   CPU microseconds per 100 ms of sandboxes that ask for none (default: all cores but one; 0 = none)
  [--shm-size SIZE]          each sandbox's /dev/shm (default 512M)
  [--max-launches N]         sandbox commands starting at once; more wait their turn (default 4 per CPU)
  [--network-test-hosts NAME=IP,...]  for tests: names the egress proxy resolves to local origins, as if public
  [--docker-host unix:///PATH]  the Docker engine of Docker sandboxes (default $DOCKER_HOST, else /var/run/docker.sock)
  [--e2b-listen HOST:PORT --e2b-key-file FILE]  also serve E2B's API over these sandboxes (for E2B_API_URL / E2B_SANDBOX_URL)
       node dist/server.js --check [--json] [--sandbox-uid N] [--docker-host unix:///PATH]
                             can this host run sandboxes? each check with ✓/✗ and its fix; exit 1 when not`;

const FLAGS = [
  '--listen',
  '--data-dir',
  '--token-file',
  '--cow',
  '--sandbox-uid',
  '--log-level',
  '--max-merge-bytes',
  '--max-merge-files',
  '--max-merge-depth',
  '--layer-quota',
  '--default-memory',
  '--default-pids',
  '--default-cpu-quota',
  '--shm-size',
  '--max-launches',
  '--network-test-hosts',
  '--docker-host',
  '--e2b-listen',
  '--e2b-key-file',
];

export function parseServerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new HelpRequested(USAGE);
    const eq = arg.indexOf('=');
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!FLAGS.includes(name)) {
      throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    values.set(name, value);
  }
  const listen = values.get('--listen');
  const dataDir = values.get('--data-dir');
  if (!listen || !dataDir) throw new UsageError(`--listen and --data-dir are required\n${USAGE}`);
  const cow = (values.get('--cow') ?? 'auto') as CowFlag;
  if (!['auto', 'overlay', 'copy'].includes(cow)) throw new UsageError(`--cow must be auto, overlay or copy`);
  const logLevel = values.get('--log-level') ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be debug, info, warn or error`);
  let sandboxUid: number | undefined;
  if (values.has('--sandbox-uid')) {
    sandboxUid = Number(values.get('--sandbox-uid'));
    if (!Number.isInteger(sandboxUid) || sandboxUid <= 0 || sandboxUid >= 2 ** 32 - 1) {
      throw new UsageError('--sandbox-uid must be a positive integer (not 0: sandboxes never run as root)');
    }
  }
  const tokenFile = values.get('--token-file');
  if (!listen.startsWith('unix:') && !tokenFile) {
    throw new UsageError(
      `refusing to listen on TCP (${listen}) without --token-file: anyone who can reach the port could run commands. ` +
        'Use --listen unix:PATH for local use, or pass --token-file FILE.',
    );
  }
  const size = (flag: string, fallback: number, min: number) => {
    const text = values.get(flag);
    if (text === undefined) return fallback;
    const n = parseByteSize(text);
    const zeroOk = flag.startsWith('--default-');
    if (n === undefined || (n === 0 ? !zeroOk : n < min)) {
      throw new UsageError(
        `${flag} must be a size such as 512M or 4G${zeroOk ? ' (0 for none)' : ''}, at least ${min} bytes; got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
  const count = (flag: string, fallback: number, min: number, max: number) => {
    const text = values.get(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    const zeroOk = flag.startsWith('--default-');
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || ((n < min || n > max) && !(zeroOk && n === 0))) {
      throw new UsageError(
        `${flag} must be an integer from ${min} to ${max}${zeroOk ? ' (0 for none)' : ''}; got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
  const mergeLimits: MergeLimits = {
    maxBytes: size('--max-merge-bytes', DEFAULT_MERGE_LIMITS.maxBytes, 1),
    maxFiles: count('--max-merge-files', DEFAULT_MERGE_LIMITS.maxFiles, 1, 100_000_000),
    // Linux paths are at most 4096 bytes: 2048 one-letter components.
    maxDepth: count('--max-merge-depth', DEFAULT_MERGE_LIMITS.maxDepth, 1, 2048),
    layerQuotaBytes: size('--layer-quota', DEFAULT_MERGE_LIMITS.layerQuotaBytes, MiB),
  };
  const host = hostDefaultLimits();
  // Same ranges as a request's resources (cgroupLimits.validateLimits).
  const defaultLimits: ResourceLimitValues = {
    memoryBytes: size('--default-memory', host.memoryBytes, 8 * MiB),
    pidsLimit: count('--default-pids', host.pidsLimit, 8, 4_194_304),
    cpuQuota: count('--default-cpu-quota', host.cpuQuota, 1000, 100_000 * 1024),
    cpuShares: 0,
  };
  const shmBytes = size('--shm-size', DEFAULT_SHM_BYTES, MiB);
  const launchSlots = count('--max-launches', 4 * availableParallelism(), 1, 4096);
  const networkTestHosts = new Map<string, string>();
  for (const pair of (values.get('--network-test-hosts') ?? '').split(',').filter(Boolean)) {
    const [name, ip] = pair.split('=');
    if (!name || !ip || !isIP(ip))
      throw new UsageError(`--network-test-hosts takes NAME=IP pairs separated by commas; got ${JSON.stringify(pair)}`);
    networkTestHosts.set(name.toLowerCase(), ip);
  }
  let dockerSocket: string;
  try {
    dockerSocket = dockerSocketPath(values.get('--docker-host') ?? env.DOCKER_HOST);
  } catch (err) {
    throw new UsageError(`--docker-host: ${(err as Error).message}`);
  }
  const e2bListen = values.get('--e2b-listen');
  const e2bKeyFile = values.get('--e2b-key-file');
  if (!!e2bListen !== !!e2bKeyFile)
    throw new UsageError('--e2b-listen and --e2b-key-file go together: the E2B front needs the API key it accepts');
  if (e2bListen && !/^(\[[^\]]+\]|[^:]+):\d{1,5}$/.test(e2bListen))
    throw new UsageError(`--e2b-listen takes HOST:PORT; got ${JSON.stringify(e2bListen)}`);
  return {
    ...(e2bListen && e2bKeyFile ? { e2b: { listen: e2bListen, keyFile: e2bKeyFile } } : {}),
    dockerSocket,
    listen,
    dataDir,
    tokenFile,
    cow,
    sandboxUid,
    logLevel,
    mergeLimits,
    defaultLimits,
    shmBytes,
    launchSlots,
    networkTestHosts,
  };
}
