/**
 * Cost safety for cloud sandboxes: at start, sandboxes of this app still running at the
 * provider that no open window holds (a crash, a killed editor) are offered for killing, with
 * their age; when the window closes, the running sandboxes it holds are killed (paused ones are
 * kept: the user paused them to come back).
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import type { E2bBackend, CloudSandbox } from '../../cloud/e2bBackend';
import { describeError } from '../server/errorReporting';

function age(s: CloudSandbox): string {
  if (!s.startedAt) return 'age unknown';
  const minutes = Math.round((Date.now() - s.startedAt.getTime()) / 60_000);
  return minutes < 60 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

/** Offers to kill leftovers; resolves once the user answered (or there were none). */
export async function sweepOrphans(ctx: Ctx, cloud: E2bBackend): Promise<void> {
  let leftovers: CloudSandbox[];
  try {
    leftovers = (await cloud.listAll()).filter((s) => s.status !== 'stopped' && !s.inUse);
  } catch (e) {
    ctx.log.warn(`cloud: could not look for leftover sandboxes: ${describeError(e)}`);
    return;
  }
  if (leftovers.length === 0) return;
  const list = leftovers.map((s) => `${s.id} (${age(s)})`).join(', ');
  const choice = await vscode.window.showWarningMessage(
    `AgentFense: ${leftovers.length} sandbox${leftovers.length === 1 ? ' is' : 'es are'} still running at ${cloud.provider} with no window using ${leftovers.length === 1 ? 'it' : 'them'}: ${list}. Kill ${leftovers.length === 1 ? 'it' : 'them'}?`,
    'Kill',
    'Keep',
  );
  if (choice !== 'Kill') return;
  for (const s of leftovers) await cloud.destroySandbox(s.id).catch((e) => ctx.log.warn(describeError(e)));
  ctx.sandboxes.fireChanged();
}

/** Kills the running sandboxes this window holds (the window is closing). */
export async function killHeldSandboxes(cloud: E2bBackend): Promise<void> {
  const held = new Set(await cloud.heldHere());
  if (held.size === 0) return;
  const running = (await cloud.listAll()).filter((s) => held.has(s.id) && s.status === 'running');
  await Promise.all(running.map((s) => cloud.destroySandbox(s.id).catch(() => undefined)));
}
