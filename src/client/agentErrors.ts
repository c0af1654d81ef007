/** A failure as a model can act on it: what went wrong and what to do next. */
import { CommandTimeoutError, ConnectionError } from './errors';
import { UnsupportedPlatformError } from './embedded/serverLifecycle';
import { CancelledError } from '../core/cancelled';

export function explainAgentError(e: unknown): string {
  if (e instanceof CommandTimeoutError)
    return `${e.message}. Run it with a longer timeout_seconds, or split the work into shorter commands.`;
  if (e instanceof CancelledError && /would replace sandbox changes/.test(e.message))
    return (
      'The user edited files in the workspace that also have sandbox changes waiting for review, so the workspace was not synced. ' +
      "Ask the user to accept or discard those changes in VS Code's AgentFense review (the `changes` tool lists them), then try again."
    );
  if (e instanceof CancelledError) return 'Cancelled.';
  if (e instanceof UnsupportedPlatformError) return `AgentFense cannot run sandboxes on this machine: ${e.message}`;
  if (e instanceof ConnectionError)
    return `The AgentFense server is not reachable: ${e.message}. Try again; if it persists, the user should check the server.`;
  if (e instanceof RangeError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
