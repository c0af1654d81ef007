/** An error the E2B front answers with an HTTP status and E2B's JSON body `{ code, message }`. */
export class E2bError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
