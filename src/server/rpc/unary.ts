/** The one adapter from a handler (sync or async) to a grpc-js unary method, for every service. */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toRpcError } from './rpcError';

/**
 * Every failure, thrown or rejected, becomes a status: never an exception in grpc-js. The
 * handler gets the call too, for what a request does not carry (its cancellation).
 */
export function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) => callback(null, response),
        (err) => callback(toRpcError(err).toServiceError()),
      );
  };
}
