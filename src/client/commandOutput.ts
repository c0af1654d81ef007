/**
 * A streamed command's output, and once it has been read to the end, what the server said
 * about how the command ended (see src/shared/streamTrailers.ts).
 */
import {
  CONNECTIONS_REFUSED_TRAILER,
  decodeRefusedConnections,
  type RefusedConnectionWire,
} from '../shared/connectionRefusals';
import type { Metadata } from '@grpc/grpc-js';
import {
  DENIALS_TRAILER,
  EXIT_CODE_TRAILER,
  PATHS_MERGED_TRAILER,
  SESSION_CWD_TRAILER,
} from '../shared/streamTrailers';
import { decodeDenials, type WireDenials } from '../shared/denialWire';
import type { ExecOutputChunk } from './types';

export class CommandOutput implements AsyncIterable<ExecOutputChunk> {
  private ended: CommandEnd | undefined;

  constructor(private readonly chunks: AsyncGenerator<ExecOutputChunk, Metadata | undefined, undefined>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecOutputChunk, void, undefined> {
    const trailers = yield* this.chunks;
    this.ended = commandEndOf(trailers);
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

  /**
   * How many codebase paths the merge after the command wrote or deleted (0: the codebase is as
   * it was), when the server says.
   */
  get pathsMerged(): number | undefined {
    return this.ended?.pathsMerged;
  }

  /** An audited command's refused accesses (`audit: true`), once read to the end. */
  get denials(): WireDenials | undefined {
    return this.ended?.denials;
  }

  /** The connections the network policy refused, once read to the end. */
  get refusedConnections(): RefusedConnectionWire[] | undefined {
    return this.ended?.refusedConnections;
  }
}

export interface CommandEnd {
  exitCode?: number;
  cwd?: string;
  pathsMerged?: number;
  denials?: WireDenials;
  refusedConnections?: RefusedConnectionWire[];
}

/** What a command's trailers say (a stream's, or a unary Exec's). */
export function commandEndOf(trailers: Metadata | undefined): CommandEnd {
  const code = trailers?.get(EXIT_CODE_TRAILER)[0];
  const cwd = trailers?.get(SESSION_CWD_TRAILER)[0];
  const merged = trailers?.get(PATHS_MERGED_TRAILER)[0];
  const decimal = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  return {
    exitCode: decimal(code),
    cwd: Buffer.isBuffer(cwd) ? cwd.toString('utf8') : undefined,
    pathsMerged: decimal(merged),
    denials: decodeDenials(trailers?.get(DENIALS_TRAILER)[0]),
    refusedConnections: decodeRefusedConnections(trailers?.get(CONNECTIONS_REFUSED_TRAILER)[0]),
  };
}
