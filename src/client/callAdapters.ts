/**
 * grpc-js calls as promises and async iterables, with per-call deadlines and AbortSignal
 * cancellation (abort → `call.cancel()`, so the server sees the call cancelled; the
 * promise/iterator rejects with `signal.reason`). Errors are left as grpc-js ServiceErrors;
 * the caller maps them to typed errors.
 */
import type {
  CallOptions,
  ClientReadableStream,
  ClientUnaryCall,
  ClientWritableStream,
  Metadata,
  ServiceError,
  StatusObject,
} from '@grpc/grpc-js';
import { once } from 'node:events';

export interface CallSettings {
  metadata: Metadata;
  /** Relative deadline; undefined = none. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** A unary call's trailing metadata, before the call resolves (e.g. Exec's paths-merged count). */
  onTrailers?: (trailers: Metadata) => void;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
export type UnaryMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<CallOptions>,
  cb: Callback<Res>,
) => ClientUnaryCall;
export type ServerStreamMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<CallOptions>,
) => ClientReadableStream<Res>;
export type ClientStreamMethod<Req, Res> = (
  md: Metadata,
  opts: Partial<CallOptions>,
  cb: Callback<Res>,
) => ClientWritableStream<Req>;

function callOptions(s: CallSettings): Partial<CallOptions> {
  return s.deadlineMs === undefined ? {} : { deadline: Date.now() + s.deadlineMs };
}

export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, s: CallSettings): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (s.signal?.aborted) return reject(s.signal.reason);
    const onAbort = () => call.cancel();
    let answered: { err: ServiceError | null; res: Res } | undefined;
    // grpc-js calls back before it emits the status that carries the trailers.
    let statusSeen = !s.onTrailers;
    const settle = () => {
      if (!answered || !statusSeen) return;
      s.signal?.removeEventListener('abort', onAbort);
      if (s.signal?.aborted) reject(s.signal.reason);
      else if (answered.err) reject(answered.err);
      else resolve(answered.res);
    };
    const call = method(req, s.metadata, callOptions(s), (err, res) => {
      answered = { err, res };
      settle();
    });
    if (s.onTrailers) {
      call.once('status', (st: StatusObject) => {
        s.onTrailers!(st.metadata);
        statusSeen = true;
        settle();
      });
    }
    s.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A server-streaming call as an async iterator that returns the call's trailing metadata. The
 * call starts on the first `next()`; leaving a `for await` early (break, throw) cancels it.
 */
export async function* serverStreamCall<Req, Res>(
  method: ServerStreamMethod<Req, Res>,
  req: Req,
  s: CallSettings,
): AsyncGenerator<Res, Metadata | undefined, undefined> {
  s.signal?.throwIfAborted();
  const call = method(req, s.metadata, callOptions(s));
  const onAbort = () => call.cancel();
  s.signal?.addEventListener('abort', onAbort, { once: true });
  // grpc-js emits 'status' in the same tick as the end of the stream, before the loop sees it.
  let trailers: Metadata | undefined;
  call.once('status', (st: StatusObject) => (trailers = st.metadata));
  let finished = false;
  try {
    for await (const message of call) yield message as Res;
    finished = true;
    return trailers;
  } catch (err) {
    if (s.signal?.aborted) throw s.signal.reason;
    throw err;
  } finally {
    s.signal?.removeEventListener('abort', onAbort);
    if (!finished) call.cancel();
  }
}

/** Why a settled call stops writing: a constant, since `abort()` without a reason builds a DOMException (with a stack) per call. */
const CALL_SETTLED = Object.freeze({ reason: 'call settled' });

/**
 * A client-streaming call: writes `messages` with backpressure, half-closes, resolves with
 * the response. If the server answers early (typically an error), writing stops.
 */
export function clientStreamCall<Req, Res>(
  method: ClientStreamMethod<Req, Res>,
  messages: AsyncIterable<Req>,
  s: CallSettings,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (s.signal?.aborted) return reject(s.signal.reason);
    const stopWriting = new AbortController();
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      stopWriting.abort(CALL_SETTLED);
      s.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      call.cancel();
      settle(() => reject(s.signal!.reason));
    };
    const call = method(s.metadata, callOptions(s), (err, res) => {
      settle(() => (err ? reject(err) : resolve(res)));
    });
    s.signal?.addEventListener('abort', onAbort, { once: true });

    (async () => {
      for await (const message of messages) {
        if (stopWriting.signal.aborted) return;
        if (!call.write(message)) await once(call, 'drain', { signal: stopWriting.signal });
      }
      if (!stopWriting.signal.aborted) call.end();
    })().catch((err: unknown) => {
      if (stopWriting.signal.aborted) return; // the call already settled; nothing left to report
      call.cancel();
      settle(() => reject(err));
    });
  });
}
