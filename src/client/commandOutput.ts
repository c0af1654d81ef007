/**
 * A streamed command's output, and once it has been read to the end, what the server said
 * about how the command ended (see src/shared/streamTrailers.ts).
 */
import type { Metadata } from '@grpc/grpc-js';
import { EXIT_CODE_TRAILER, SESSION_CWD_TRAILER } from '../shared/streamTrailers';
import type { ExecOutputChunk } from './types';

export class CommandOutput implements AsyncIterable<ExecOutputChunk> {
  private ended: { exitCode?: number; cwd?: string } | undefined;

  constructor(private readonly chunks: AsyncGenerator<ExecOutputChunk, Metadata | undefined, undefined>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecOutputChunk, void, undefined> {
    const trailers = yield* this.chunks;
    this.ended = endOf(trailers);
  }

  /**
   * The command's exit code, once the output has been read to its end; undefined before that,
   * or when the server sends none (AgentFense's own server does not).
   */
  get exitCode(): number | undefined {
    return this.ended?.exitCode;
  }

  /** For a session command: the session's working directory after it, when the server says. */
  get cwd(): string | undefined {
    return this.ended?.cwd;
  }
}

function endOf(trailers: Metadata | undefined): { exitCode?: number; cwd?: string } {
  const code = trailers?.get(EXIT_CODE_TRAILER)[0];
  const cwd = trailers?.get(SESSION_CWD_TRAILER)[0];
  return {
    exitCode: typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined,
    cwd: Buffer.isBuffer(cwd) ? cwd.toString('utf8') : undefined,
  };
}
