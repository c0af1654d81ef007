/**
 * "AgentFense: Check Environment" asks the server binary itself (`--check --json`), run
 * with the Node and environment the embedded server would get, so the verdict is about the
 * bwrap, PATH and user that sandboxes would really use. vscode-free.
 */
import { execFile } from 'node:child_process';
import type { HostCheckResult, Readiness } from '../../shared/hostReadiness';

export interface EnvironmentCheckOptions {
  nodePath: string;
  /** dist/server.js */
  serverScript: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** The trial sandbox may take a few seconds on a loaded machine; bwrap --version as many. */
const CHECK_TIMEOUT_MS = 60_000;

function isCheck(c: unknown): c is HostCheckResult {
  const o = c as Partial<HostCheckResult> | null;
  return (
    typeof o?.id === 'string' &&
    typeof o.title === 'string' &&
    typeof o.detail === 'string' &&
    ['pass', 'fail', 'skip'].includes(o.status as string)
  );
}

function parseReadiness(stdout: string): Readiness | undefined {
  try {
    const o = JSON.parse(stdout) as Partial<Readiness> | null;
    if (typeof o?.ready === 'boolean' && Array.isArray(o.checks) && o.checks.every(isCheck)) return o as Readiness;
  } catch {
    // not JSON: reported below with what the process said
  }
  return undefined;
}

export function runEnvironmentCheck(o: EnvironmentCheckOptions): Promise<Readiness> {
  return new Promise((resolve, reject) => {
    execFile(
      o.nodePath,
      [o.serverScript, '--check', '--json'],
      { env: o.env, timeout: CHECK_TIMEOUT_MS, maxBuffer: 1024 * 1024, signal: o.signal },
      (error, stdout, stderr) => {
        // Exit code 1 means "not ready" and still carries the verdict on stdout.
        const r = parseReadiness(stdout);
        if (r) return resolve(r);
        if (error?.name === 'AbortError') return reject(error);
        const code = error ? ((error as { code?: unknown }).code ?? error.message) : 0;
        const said = (stderr.trim() || stdout.trim()).split('\n')[0] ?? '';
        reject(
          new Error(`${o.serverScript} did not answer with a host check (exit code ${code})${said ? `: ${said}` : ''}`),
        );
      },
    );
  });
}
