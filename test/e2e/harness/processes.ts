/**
 * Finding and ending the processes one e2e session started. code-server runs in its own process
 * group; the extension's embedded AgentFense server is started detached (its own session), so
 * it is found by its command line, which contains the session's private temp folder.
 */
import { processesMatching, stateOf, type HostProcess } from '../../helpers/hostProcesses';

export { parentOf, processGroupOf, processesMatching } from '../../helpers/hostProcesses';

/** Whether a process (or, for a negative number, a process group) is still running; a zombie is not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (pid < 0) return true;
  const state = stateOf(pid);
  return state !== undefined && state !== 'Z';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM a process group, give it `graceMs`, then SIGKILL whatever is left of it. */
export async function killProcessGroup(pgid: number, graceMs = 3000): Promise<void> {
  signal(-pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(-pgid)) await new Promise((r) => setTimeout(r, 100));
  signal(-pgid, 'SIGKILL');
}

/** SIGKILL every process whose command line mentions `needle`; returns what it killed. */
export function killMatching(needle: string): HostProcess[] {
  const victims = processesMatching(needle);
  for (const p of victims) signal(p.pid, 'SIGKILL');
  return victims;
}
