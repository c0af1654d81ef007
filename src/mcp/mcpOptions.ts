/** The MCP server's command line: which folder, which preset, which server. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface McpOptions {
  /** The workspace folder the agent works on. */
  workspace: string;
  /** The preset a run uses when the agent names none; undefined: the folder's active one. */
  preset?: string;
  /**
   * Where the per-user embedded server lives (socket, data, review baselines). VS Code passes
   * its own, so both use one server and one review per folder.
   */
  storageDir: string;
  /** Connect to this server instead of the embedded one (`unix:/path` or `host:port`). */
  endpoint?: string;
  /** `off`/`on` for every preset; absent: each preset's own network. */
  network?: 'off' | 'on';
}

export const USAGE = `agentfense-mcp: AgentFense's MCP server (stdio): run commands in a sandbox of a workspace folder.

  agentfense-mcp [--workspace DIR] [--preset NAME] [--storage-dir DIR] [--endpoint ADDR] [--network on|off]

  --workspace DIR    the folder (default: the current directory)
  --preset NAME      the preset of runs that name none (default: the one chosen for the folder in
                     VS Code, else agent-safe)
  --storage-dir DIR  the embedded server's folder (default: $XDG_STATE_HOME/agentfense); VS Code's
                     "AgentFense: Connect an Agent…" gives the one its window uses, so changes show
                     up in its review
  --endpoint ADDR    use this AgentFense server instead of starting the embedded one
  --network on|off   override every preset's network (default: each preset's own: agent-safe off)`;

export class UsageError extends Error {}

export function defaultStorageDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'agentfense');
}

/** Parses argv (without node and the script); throws UsageError with what is wrong. */
export function parseMcpOptions(argv: readonly string[], cwd = process.cwd()): McpOptions | 'help' {
  const o: McpOptions = { workspace: cwd, storageDir: defaultStorageDir() };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') return 'help';
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    i++;
    switch (flag) {
      case '--workspace':
        o.workspace = resolve(cwd, value);
        break;
      case '--preset':
        o.preset = value;
        break;
      case '--storage-dir':
        o.storageDir = resolve(cwd, value);
        break;
      case '--endpoint':
        o.endpoint = value;
        break;
      case '--network':
        if (value !== 'on' && value !== 'off')
          throw new UsageError(`--network is on or off, not ${JSON.stringify(value)}`);
        o.network = value === 'on' ? 'on' : 'off';
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return o;
}
