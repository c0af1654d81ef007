/** The one adapter from a handler (sync or async) to a grpc-js unary method, for every service. */
import type { Metadata, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toRpcError } from './rpcError';

/** A response with trailing metadata (Exec's paths-merged count); a plain response has none. */
export class WithTrailers<Res> {
  constructor(
    readonly response: Res,
    readonly trailers: Metadata,
  ) {}
}

/**
 * Every failure, thrown or rejected, becomes a status: never an exception in grpc-js. The
 * handler gets the call too, for what a request does not carry (its cancellation).
 */
export function unary<Req, Res>(
  handler: (
    request: Req,
    call: ServerUnaryCall<Req, Res>,
  ) => Promise<Res | WithTrailers<Res>> | Res | WithTrailers<Res>,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) =>
          response instanceof WithTrailers
            ? callback(null, response.response, response.trailers)
            : callback(null, response),
        (err) => callback(toRpcError(err).toServiceError()),
      );
  };
}
