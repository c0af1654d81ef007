/**
 * The machine-level pieces the e2e tests need (Node 24, code-server, Chromium), installed on
 * first use by scripts/e2e-setup.mjs and cached outside the repository.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

export interface E2eEnvironment {
  cache: string;
  node: string;
  nodeBinDir: string;
  codeServerEntry: string;
  chromium: string;
}

interface SetupModule {
  ensureE2eEnvironment(): Promise<E2eEnvironment>;
}

let ready: Promise<E2eEnvironment> | undefined;

/** Installs whatever is missing (once per process) and returns where things are. */
export function e2eEnvironment(): Promise<E2eEnvironment> {
  // The setup script is plain ESM so that `node scripts/e2e-setup.mjs` and `npm start` can run it
  // without tsx; a computed specifier keeps tsc from wanting type declarations for it.
  const url = pathToFileURL(join(REPO_ROOT, 'scripts', 'e2e-setup.mjs')).href;
  ready ??= (import(url) as Promise<SetupModule>).then((m) => m.ensureE2eEnvironment());
  return ready;
}
