/**
 * One e2e session = one code-server + one Chromium page on a private copy of the sample workspace,
 * with the packaged extension installed into a fresh extensions folder. A test file starts one in
 * `before` and stops it in `after`; stop() also runs on failure and leaves no process behind.
 *
 *   const vs = await startSession('views');
 *   after(() => vs.stop());
 *   afterEach((t) => vs.screenshotIfFailed(t));
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage } from './browser';
import { installExtension, makeDirs, startCodeServer, type CodeServerDirs, type RunningCodeServer } from './codeServer';
import { e2eEnvironment, REPO_ROOT } from './environment';
import { processesMatching } from './processes';
import type { HostProcess } from '../../helpers/hostProcesses';
import { packagedExtension, packagedProbe } from './vsix';
import { Workbench } from './workbench';
import { copySampleWorkspace } from './workspace';

export const RESULTS_DIR = join(REPO_ROOT, 'test-results', 'e2e');
export const README_SCREENSHOTS_DIR = join(REPO_ROOT, 'media', 'screenshots');

export class Session extends Workbench {
  constructor(
    readonly name: string,
    page: Page,
    readonly workspace: string,
    readonly dirs: CodeServerDirs,
    private readonly browser: Browser,
    private readonly codeServer: RunningCodeServer,
  ) {
    super(page);
  }

  get url(): string {
    return this.codeServer.url;
  }

  /** The extension's embedded server process(es) of this session: `…/extensions/<ours>/dist/server.js`. */
  embeddedServers(): HostProcess[] {
    return processesMatching(this.dirs.extensions).filter((p) => p.cmd.includes('dist/server.js'));
  }

  /** The tail of code-server's log (extension host errors land in the user-data logs; see logs()). */
  codeServerLog(): string {
    try {
      return readFileSync(this.dirs.logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  /** afterEach hook: a failing test leaves test-results/e2e/<session>-<test>.png behind. */
  async screenshotIfFailed(t: { name: string; passed?: boolean }): Promise<void> {
    if (t.passed !== false) return;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${this.name}-${slug(t.name)}.png`);
    await this.page.screenshot({ path: file }).catch(() => undefined);
    console.log(`[e2e] screenshot of the failure: ${file}`);
    await this.calmDown();
  }

  /** A screenshot for the README (media/screenshots/<name>.png), only when AGENTFENSE_SCREENSHOTS=1. */
  async saveScreenshot(name: string): Promise<void> {
    if (process.env.AGENTFENSE_SCREENSHOTS !== '1') return;
    mkdirSync(README_SCREENSHOTS_DIR, { recursive: true });
    await this.page.mouse.move(5, 5); // no stray hover in the picture
    await this.page.screenshot({ path: join(README_SCREENSHOTS_DIR, `${slug(name)}.png`) });
  }

  /** A screenshot anywhere (for looking at what the screen shows while writing a test). */
  async screenshot(file: string): Promise<void> {
    await this.page.screenshot({ path: file });
  }

  async stop(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.codeServer.stop();
    if (process.env.AGENTFENSE_E2E_KEEP !== '1') rmSync(this.dirs.root, { recursive: true, force: true });
    else console.log(`[e2e] kept ${this.dirs.root} (AGENTFENSE_E2E_KEEP=1)`);
  }
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}

export interface SessionOptions {
  /** Runs before the workbench opens, e.g. to change the copied workspace. */
  prepareWorkspace?: (workspace: string) => void;
  /** Also install the test-only probe extension (test/e2e/fixtures/agent-probe). */
  withAgentProbe?: boolean;
  /** User settings beside the suite's own (machine-scoped ones, which a workspace cannot set). */
  userSettings?: Record<string, unknown>;
  /** Environment of code-server (and so of the extension host and its embedded server), e.g. DOCKER_HOST. */
  env?: NodeJS.ProcessEnv;
}

export async function startSession(name: string, opts: SessionOptions = {}): Promise<Session> {
  const env = await e2eEnvironment();
  const vsix = await packagedExtension(env.cache);
  // realpath: /tmp may be a symlink, and the workbench shows real paths. Short, because the
  // extension's server socket lives under user-data/…/globalStorage and Linux caps socket paths.
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'afe2e-')));
  const dirs = makeDirs(root, opts.userSettings);
  const workspace = copySampleWorkspace(join(root, 'sample-workspace'));
  opts.prepareWorkspace?.(workspace);
  let codeServer: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  try {
    installExtension(env, dirs, vsix);
    if (opts.withAgentProbe) installExtension(env, dirs, await packagedProbe(env.cache));
    codeServer = await startCodeServer(env, dirs, { env: opts.env });
    browser = await launchBrowser(env.chromium);
    const page = await openPage(browser, `${codeServer.url}/?folder=${encodeURIComponent(workspace)}`);
    const session = new Session(name, page, workspace, dirs, browser, codeServer);
    await session.waitUntilReady(basename(workspace));
    return session;
  } catch (e) {
    await browser?.close().catch(() => undefined);
    await codeServer?.stop();
    if (process.env.AGENTFENSE_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
    throw e;
  }
}
