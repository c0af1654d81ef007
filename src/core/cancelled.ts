/** The user (or a caller's signal) stopped the operation: nothing to report as a failure. */
export class CancelledError extends Error {
  override readonly name = 'CancellationError';

  constructor(message = 'Cancelled') {
    super(message);
  }
}
