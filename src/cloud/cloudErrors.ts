/**
 * What went wrong with a cloud provider, typed, with what the user can do about it. E2B's SDK
 * throws its own classes (and `fetch` a TypeError when the network fails); `cloudError` turns any
 * of them into one `CloudError` whose message names the provider and the fix.
 */
import {
  AuthenticationError,
  InvalidArgumentError,
  NotEnoughSpaceError,
  NotFoundError,
  RateLimitError,
  SandboxNotFoundError,
  TemplateError,
  TimeoutError,
} from 'e2b';

export type CloudErrorKind =
  'no-key' | 'auth' | 'quota' | 'template' | 'gone' | 'timeout' | 'network' | 'refused' | 'unsupported' | 'other';

export class CloudError extends Error {
  constructor(
    readonly kind: CloudErrorKind,
    message: string,
    /** What the user can do, in words (shown after the message). */
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(fix ? `${message} — ${fix}` : message, options);
  }
}

const SET_KEY = 'run "AgentFense: Set Cloud API Key" with a key from your provider';

export function cloudError(e: unknown, provider: string, what: string): CloudError {
  if (e instanceof CloudError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  const say = (kind: CloudErrorKind, message: string, fix?: string) =>
    new CloudError(kind, `${provider}: ${what} failed: ${message}`, fix, { cause: e });
  if (e instanceof AuthenticationError) return say('auth', 'the API key was refused', SET_KEY);
  if (e instanceof RateLimitError)
    return say(
      'quota',
      `rate limit or quota reached (${detail})`,
      'wait, or kill sandboxes you no longer need (Sandboxes view)',
    );
  if (e instanceof NotEnoughSpaceError) return say('quota', `the sandbox is out of disk space (${detail})`);
  if (e instanceof TemplateError || /template/i.test(detail))
    return say(
      'template',
      detail,
      'check the "agentfense.cloud.template" setting: the template must exist for your account',
    );
  if (e instanceof SandboxNotFoundError || e instanceof NotFoundError)
    return say('gone', `the sandbox is gone (${detail})`, 'it ended (timeout or killed); the next run makes a new one');
  if (e instanceof TimeoutError)
    return say('timeout', detail, "the provider did not answer in time; check the network and the provider's status");
  if (e instanceof InvalidArgumentError) return say('refused', detail);
  if (isNetworkFailure(e))
    return say(
      'network',
      `cannot reach the provider (${networkCause(e)})`,
      'check the network and the "agentfense.cloud.*" settings',
    );
  return say('other', detail);
}

function isNetworkFailure(e: unknown): boolean {
  return (
    e instanceof TypeError && /fetch failed|network|ECONN|ENOTFOUND|EAI_AGAIN/i.test(`${e.message} ${networkCause(e)}`)
  );
}

function networkCause(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return e instanceof Error ? e.message : String(e);
}
