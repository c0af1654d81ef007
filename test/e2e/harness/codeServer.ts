/**
 * One code-server (a real VS Code 1.139 workbench served to a browser, extension host in Node 24)
 * with a fresh user-data dir, a fresh extensions dir holding only our .vsix, and private HOME /
 * XDG_RUNTIME_DIR so that the extension's per-user server socket and state are the session's own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { E2eEnvironment } from './environment';
import { killMatching, killProcessGroup } from './processes';

/** User settings that make the workbench quiet, deterministic and readable by a test. */
export const E2E_USER_SETTINGS = {
  // DOM-rendered terminal rows (.xterm-rows) instead of a canvas a test cannot read.
  'terminal.integrated.gpuAcceleration': 'off',
  'workbench.startupEditor': 'none',
  // The chat side bar would otherwise open on the right and narrow the editor.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  // Ours opens once on first activation and would take the focus from every suite but its own.
  'agentfense.walkthrough.openOnFirstRun': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'git.enabled': true,
  'git.autoRepositoryDetection': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
  'editor.minimap.enabled': false,
  'editor.hover.delay': 100,
  'workbench.hover.delay': 100,
  'files.autoSave': 'off',
  'terminal.integrated.enablePersistentSessions': false,
  'terminal.integrated.showExitAlert': false,
  'task.problemMatchers.neverPrompt': true,
  'task.autoDetect': 'off',
  'npm.autoDetect': 'off',
  'notebook.experimental.generate': false,
  'accessibility.signals.terminalBell': { sound: 'off' },
};

export interface CodeServerDirs {
  root: string; // everything of this session lives under here (and only here)
  userData: string;
  extensions: string;
  home: string;
  logFile: string;
}

export function makeDirs(root: string, userSettings: Record<string, unknown> = {}): CodeServerDirs {
  const d = {
    root,
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
    home: join(root, 'home'),
    logFile: join(root, 'code-server.log'),
  };
  // Searchable by others (like a usual /home/<user>): the embedded server, when it runs as root,
  // hands its data dir under user-data to an unprivileged sandbox user who must be able to reach it.
  chmodSync(root, 0o711);
  for (const p of [d.userData, d.extensions, d.home]) mkdirSync(p, { recursive: true, mode: 0o711 });
  mkdirSync(join(d.home, '.runtime'), { recursive: true, mode: 0o700 });
  mkdirSync(join(d.userData, 'User'), { recursive: true });
  writeFileSync(
    join(d.userData, 'User', 'settings.json'),
    JSON.stringify({ ...E2E_USER_SETTINGS, ...userSettings }, null, 2),
  );
  // code-server's extension host is a remote one: machine-scoped settings come from here, and
  // the same ones in User settings are dropped once these load.
  mkdirSync(join(d.userData, 'Machine'), { recursive: true });
  writeFileSync(join(d.userData, 'Machine', 'settings.json'), JSON.stringify(userSettings, null, 2));
  return d;
}

function codeServerEnv(env: E2eEnvironment, dirs: CodeServerDirs, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    PATH: `${env.nodeBinDir}:${process.env.PATH}`,
    HOME: dirs.home,
    XDG_RUNTIME_DIR: join(dirs.home, '.runtime'),
    XDG_CONFIG_HOME: join(dirs.home, '.config'),
    XDG_DATA_HOME: join(dirs.home, '.local', 'share'),
    XDG_CACHE_HOME: join(dirs.home, '.cache'),
  };
}

export function installExtension(env: E2eEnvironment, dirs: CodeServerDirs, vsix: string): void {
  const r = spawnSync(
    env.node,
    [
      env.codeServerEntry,
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
      '--install-extension',
      vsix,
      '--force',
    ],
    { env: codeServerEnv(env, dirs), encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed:\n${r.stdout}\n${r.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningCodeServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

async function waitUntilAnswering(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `code-server exited with ${child.exitCode} before answering:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `code-server did not answer on ${url} within ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
  );
}

export async function startCodeServer(
  env: E2eEnvironment,
  dirs: CodeServerDirs,
  opts: { port?: number; folder?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningCodeServer> {
  const port = opts.port ?? (await freePort());
  const log = createWriteStream(dirs.logFile);
  const child = spawn(
    env.node,
    [
      env.codeServerEntry,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...(opts.folder ? [opts.folder] : []),
    ],
    // Its own process group, so stop() ends code-server, its extension host and their children at once.
    { env: codeServerEnv(env, dirs, opts.env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid) await killProcessGroup(child.pid);
    // The embedded AgentFense server detaches into a session of its own; its command line
    // (…/extensions/agentfense…/dist/server.js) lies under this session's root.
    killMatching(dirs.root);
    log.end();
  };
  try {
    await waitUntilAnswering(url, child, dirs.logFile, opts.timeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, port, process: child, stop };
}
