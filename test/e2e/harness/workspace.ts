/**
 * A private copy of test/fixtures/sample-workspace for one e2e session, made a git repository so
 * that .gitignore means what it means in a real project.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './environment';

export const SAMPLE_WORKSPACE = join(REPO_ROOT, 'test', 'fixtures', 'sample-workspace');

export function copySampleWorkspace(dest: string): string {
  cpSync(SAMPLE_WORKSPACE, dest, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dest, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=AgentFense e2e', '-c', 'user.email=e2e@agentfense.invalid', 'commit', '-q', '-m', 'sample');
  return dest;
}
