/** Command-line flags of `node dist/server.js`. */
import { isLogLevel, type LogLevel } from './logger';

export type CowFlag = 'auto' | 'overlay' | 'copy';

export interface ServerOptions {
  /** `unix:/path/to.sock` or `host:port`. */
  listen: string;
  dataDir: string;
  tokenFile?: string;
  cow: CowFlag;
  sandboxUid?: number;
  logLevel: LogLevel;
}

/** A wrong flag or a setting that cannot work: told plainly on stderr, exit code 2. */
export class UsageError extends Error {}

/** `--help`/`-h`: the usage goes to stdout and the process exits 0. */
export class HelpRequested extends Error {}

export const USAGE = `usage: node dist/server.js --listen unix:PATH|HOST:PORT --data-dir DIR
  [--token-file FILE]        required for TCP; clients send "authorization: Bearer <token>"
  [--cow auto|overlay|copy]  copy-on-write layers (auto: overlay when running as root)
  [--sandbox-uid N]          host uid sandboxes run as when the server is root (default 61000)
  [--log-level debug|info|warn|error]
       node dist/server.js --check [--json] [--sandbox-uid N]
                             can this host run sandboxes? each check with ✓/✗ and its fix; exit 1 when not`;

export function parseServerOptions(argv: readonly string[]): ServerOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new HelpRequested(USAGE);
    const eq = arg.indexOf('=');
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!['--listen', '--data-dir', '--token-file', '--cow', '--sandbox-uid', '--log-level'].includes(name)) {
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
  return { listen, dataDir, tokenFile, cow, sandboxUid, logLevel };
}
