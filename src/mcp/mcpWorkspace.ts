/**
 * Everything the MCP server works with, built the way the extension builds it: the embedded
 * server started or joined in the storage folder (or the server given), the core's sync,
 * baselines and provisioner over the AgentFense backend, one AgentWorkspace for the folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AgentFenseBackend, SandboxClient, type SandboxInfo } from '../client';
import { EmbeddedServer } from '../client/embedded/serverLifecycle';
import { activePresetOf } from '../core/agent/activePresets';
import { AgentWorkspace } from '../core/agent/agentWorkspace';
import {
  buildPresetCatalog,
  parsePresetFile,
  WORKSPACE_PRESETS_FILE,
  type PresetCatalog,
} from '../core/presets/presetCatalog';
import type { AccessGrant } from '../core/denials/accessGrant';
import { withNetworkOverride } from '../shared/networkPolicy';
import { writeGrant } from '../core/denials/presetFileGrant';
import { BaselineStore } from '../core/review/reviewBaseline';
import { SandboxProvisioner } from '../core/run/sandboxProvisioner';
import { WorkspaceSync } from '../core/sync/workspaceSync';
import type { CoreLog } from '../core/workspaceRoot';
import type { McpOptions } from './mcpOptions';

/** Labels and codebase owners say which client made them. */
const CLIENT = 'mcp';
/** The preset of an agent's runs when neither the agent, the command line nor VS Code chose one. */
export const FALLBACK_PRESET = 'agent-safe';

export class McpWorkspace {
  readonly agent: AgentWorkspace<SandboxInfo>;
  private client: Promise<SandboxClient> | undefined;
  private embedded: EmbeddedServer | undefined;

  /** The preset a grant the user allowed for the workspace made (it extends the one in use). */
  private granted: string | undefined;

  constructor(
    private readonly options: McpOptions,
    private readonly log: CoreLog,
  ) {
    const backend = new AgentFenseBackend(async (fn) => fn(await this.connected()));
    // The same file VS Code uses for this folder on the embedded server: one review.
    const baselines = new BaselineStore(join(options.storageDir, 'indexes'), () => options.endpoint || 'embedded');
    const sync = new WorkspaceSync(backend, baselines, {
      client: CLIENT,
      ignore: () => [],
      log,
      // No one to ask: never replace a change the user has not reviewed (the run fails and says why).
      confirmOverwrite: async () => false,
      // Every run syncs first: a folder nothing changed in is not walked again.
      watchFolders: true,
    });
    const provisioner = new SandboxProvisioner(backend, sync, {
      client: CLIENT,
      rulesOf: (preset) => this.presets().rulesOf(preset),
      networkOf: (preset) => withNetworkOverride(this.presets().networkOf(preset), options.network),
      runtimeOf: (preset) => this.presets().runtimeOf(preset),
    });
    this.agent = new AgentWorkspace({
      backend,
      provisioner,
      baselines,
      root: { name: basename(options.workspace) || options.workspace, path: options.workspace },
      activePreset: () => this.activePreset(),
      ignore: () => [],
    });
  }

  /** The built-in presets and the folder's `.agentfense/presets.json`, read at each call. */
  presets(): PresetCatalog {
    const file = join(this.options.workspace, WORKSPACE_PRESETS_FILE);
    if (!existsSync(file)) return buildPresetCatalog(undefined, undefined);
    const { presets, error } = parsePresetFile(readFileSync(file, 'utf8'));
    if (error) throw new Error(`${file}: ${error}`);
    return buildPresetCatalog(undefined, presets);
  }

  activePreset(): string {
    return (
      this.granted ??
      this.options.preset ??
      activePresetOf(this.options.storageDir, this.options.workspace) ??
      FALLBACK_PRESET
    );
  }

  /**
   * Writes a grant the user allowed into the folder's presets file; when that made a new
   * preset (the one in use is not the file's), this server's runs use it from now on.
   */
  async allowForWorkspace(grant: AccessGrant): Promise<string> {
    const active = this.activePreset();
    const catalog = this.presets();
    const target = await writeGrant(this.options.workspace, active, grant.rule, (n) => catalog.get(n) !== undefined);
    if (target.kind === 'into') return target.preset;
    this.granted = target.name;
    return target.name;
  }

  private connected(): Promise<SandboxClient> {
    this.client ??= this.connect().catch((e: unknown) => {
      this.client = undefined; // the next call tries again
      throw e;
    });
    return this.client;
  }

  private async connect(): Promise<SandboxClient> {
    if (this.options.endpoint) return new SandboxClient({ endpoint: this.options.endpoint });
    this.embedded = new EmbeddedServer({
      storageDir: this.options.storageDir,
      serverScript: join(__dirname, 'server.js'),
      nodePath: process.execPath,
      log: { serverLine: () => undefined, info: (m) => this.log.info(m), error: (m) => this.log.error(m) },
    });
    await this.embedded.ensureRunning();
    return new SandboxClient({ endpoint: this.embedded.endpoint });
  }

  async dispose(): Promise<void> {
    this.embedded?.dispose(); // the server is shared: it keeps running
    if (this.client) (await this.client.catch(() => undefined))?.close();
  }
}
