/**
 * One error, two answers: an E2bError (an HTTP status) or this server's RpcError (a gRPC code)
 * as a Connect error for the envd services, and as E2B's `{ code, message }` with an HTTP status
 * for its REST and file API. Connect's codes are gRPC's numbers.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { toRpcError } from '../rpc/rpcError';
import { E2bError } from './e2bError';

const CODE_OF_STATUS: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  409: Code.FailedPrecondition,
  413: Code.ResourceExhausted,
  502: Code.Unavailable,
};

/** gRPC code → the HTTP status E2B's API would answer. */
const STATUS_OF_CODE: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.FailedPrecondition]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof E2bError) return new ConnectError(err.message, CODE_OF_STATUS[err.status] ?? Code.Internal);
  const rpc = toRpcError(err);
  return new ConnectError(rpc.message, rpc.code as number as Code);
}

export function toE2bError(err: unknown): E2bError {
  if (err instanceof E2bError) return err;
  const rpc = toRpcError(err);
  return new E2bError(STATUS_OF_CODE[rpc.code as number as Code] ?? 500, rpc.message);
}
