/**
 * How failures reach the user: one sentence saying what happened and what to do, with
 * buttons for the fix, never a stack trace (that goes to the "AgentFense" log).
 */
import * as vscode from 'vscode';
import { status } from '@grpc/grpc-js';
import { AgentFenseError, ConnectionError } from '../../client';
import { HOST_NOT_READY } from '../../shared/hostReadiness';
import { BWRAP_FIX } from '../../client/embedded/platformSupport';
import { ServerStartError, UnsupportedPlatformError } from '../../client/embedded/serverLifecycle';

export function isCancellation(e: unknown): boolean {
  return (
    e instanceof vscode.CancellationError ||
    (e instanceof Error && (e.name === 'AbortError' || e.name === 'Canceled' || e.name === 'CancellationError'))
  );
}

export function describeError(e: unknown): string {
  if (e instanceof ConnectionError) {
    return `Cannot reach the AgentFense server at ${e.endpoint}. Check that it is running, or clear agentfense.endpoint to use the embedded server.`;
  }
  if (e instanceof AgentFenseError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export async function showError(e: unknown, log: vscode.LogOutputChannel, what?: string): Promise<void> {
  if (isCancellation(e)) return;
  log.error(`${what ? what + ': ' : ''}${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  if (e instanceof UnsupportedPlatformError) {
    await showUnsupported(e.message);
    return;
  }
  const message = `${what ? what + ': ' : ''}${describeError(e)}`;
  const actions = isHostNotReady(e)
    ? [CHECK_ENVIRONMENT, 'Show Log']
    : e instanceof ConnectionError || e instanceof ServerStartError
      ? ['Retry', 'Show Server Log']
      : ['Show Log'];
  const choice = await vscode.window.showErrorMessage(`AgentFense: ${message}`, ...actions);
  if (choice === CHECK_ENVIRONMENT) await vscode.commands.executeCommand('agentfense.checkEnvironment');
  else if (choice === 'Retry') await vscode.commands.executeCommand('agentfense.connect');
  else if (choice === 'Show Server Log') await vscode.commands.executeCommand('agentfense.showServerLog');
  else if (choice === 'Show Log') log.show(true);
}

const CHECK_ENVIRONMENT = 'Check Environment';

/** The server refused a sandbox because the host cannot run one (see src/shared/hostReadiness). */
export function isHostNotReady(e: unknown): boolean {
  return (
    e instanceof AgentFenseError && e.code === status.FAILED_PRECONDITION && e.serverMessage.startsWith(HOST_NOT_READY)
  );
}

/**
 * Terminals print their errors inline; when the cause is the host, this also offers the
 * full check (the inline text has the fix on one line, the check has every step).
 */
export async function offerEnvironmentCheck(e: unknown): Promise<void> {
  if (!isHostNotReady(e)) return;
  const choice = await vscode.window.showErrorMessage(
    'AgentFense: this host cannot run sandboxes. See each check and its fix?',
    CHECK_ENVIRONMENT,
  );
  if (choice === CHECK_ENVIRONMENT) await vscode.commands.executeCommand('agentfense.checkEnvironment');
}

let unsupportedShown = false;

/** Said once per window: repeating it on every click would only be noise. */
export async function showUnsupported(reason: string): Promise<void> {
  if (unsupportedShown) {
    vscode.window.setStatusBarMessage(`$(warning) AgentFense: ${BWRAP_FIX}`, 8000);
    return;
  }
  unsupportedShown = true;
  const choice = await vscode.window.showErrorMessage(
    reason.includes(BWRAP_FIX) || reason.includes('agentfense.endpoint') ? reason : `${reason} ${BWRAP_FIX}`,
    'Use a Remote Server',
    CHECK_ENVIRONMENT,
    'How to Install',
    'Retry',
  );
  if (choice === CHECK_ENVIRONMENT) {
    await vscode.commands.executeCommand('agentfense.checkEnvironment');
  } else if (choice === 'Use a Remote Server') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'agentfense.endpoint');
  } else if (choice === 'How to Install') {
    await vscode.env.openExternal(vscode.Uri.parse('https://github.com/containers/bubblewrap#installation'));
  } else if (choice === 'Retry') {
    unsupportedShown = false;
    await vscode.commands.executeCommand('agentfense.connect');
  }
}
