/** Errors the server answers with: a gRPC status code and a message a person understands. */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toServiceError(): Partial<ServiceError> {
    return { code: this.code, details: this.message, message: this.message, metadata: new Metadata() };
  }
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);
export const failedPrecondition = (message: string) => new RpcError(status.FAILED_PRECONDITION, message);
export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);
export const deadlineExceeded = (message: string) => new RpcError(status.DEADLINE_EXCEEDED, message);
export const unimplemented = (message: string) => new RpcError(status.UNIMPLEMENTED, message);
export const resourceExhausted = (message: string) => new RpcError(status.RESOURCE_EXHAUSTED, message);
export const internal = (message: string) => new RpcError(status.INTERNAL, message);
export const unauthenticated = (message: string) => new RpcError(status.UNAUTHENTICATED, message);

/** Any thrown value as an RpcError: unexpected errors become INTERNAL with their message. */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return resourceExhausted('the server is out of disk space');
  // Each argument is checked before spawning; this is the total (command, environment and
  // the sandbox's own arguments together) exceeding the kernel's limit.
  if (e?.code === 'E2BIG')
    return invalidArgument(
      'the command and its environment are too large to start a process (E2BIG); send large input as stdin',
    );
  return internal(`internal error: ${e?.message ?? String(err)}`);
}
