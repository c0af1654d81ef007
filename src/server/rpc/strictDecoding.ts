/**
 * Strict request decoding for every method of a service, applied where the server registers
 * it. The generated decoders, left alone, replace invalid UTF-8 with U+FFFD (the altered
 * command would run) and throw on an int64 above 2^53, which grpc-js answers with INTERNAL
 * "Error deserializing request". Here strings must be valid UTF-8, and any decoding failure
 * becomes INVALID_ARGUMENT naming the problem and, where it can be found, the field.
 *
 * grpc-js turns an exception in a deserializer into INTERNAL before any handler runs, so the
 * deserializer never throws: it returns an InvalidRequest, and the wrapped handler answers it
 * (unary and server-streaming: the request; client-streaming: any chunk, as a stream error
 * the handler already treats as a failed call).
 */
import type {
  sendUnaryData,
  Server,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { invalidArgument, type RpcError } from './rpcError';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

class InvalidUtf8 extends Error {}

/** A request that could not be decoded; carries the answer. */
export class InvalidRequest {
  constructor(readonly error: RpcError) {}
}

type Decoder = (bytes: Buffer) => unknown;
/** The generated `X.decode`, reached through the definition's `requestDeserialize`. */
type GeneratedDecode = (input: BinaryReader | Uint8Array) => unknown;

/** Marks where the lenient diagnostic pass met a bad value. */
const BAD_STRING = '\u0000agentfense-invalid-utf8\u0000';

/** Decodes like the generated code, but a bad string or int64 leaves a mark instead of failing. */
class DiagnosticReader extends BinaryReader {
  constructor(buf: Uint8Array) {
    super(buf, (bytes) => {
      try {
        return fatalUtf8.decode(bytes);
      } catch {
        return BAD_STRING;
      }
    });
  }

  override int64(): bigint | string {
    const v = super.int64();
    // The generated longToNumber lets NaN through (it only compares); NaN marks the field.
    return Number.isSafeInteger(Number(v)) ? v : 'NaN';
  }
}

/**
 * A path segment: a generated property (lowerCamelCase) becomes its proto field name;
 * anything else can only be a map key, shown quoted (`env["K"]`).
 */
const segment = (key: string) =>
  /^[a-z][A-Za-z0-9]*$/.test(key)
    ? `.${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`
    : `[${JSON.stringify(key)}]`;

/** Paths of the values the diagnostic pass marked, e.g. `resources.memory_bytes`, `env (a name)`. */
function markedFields(value: unknown, path: string, out: string[]): void {
  if (value === BAD_STRING || (typeof value === 'number' && Number.isNaN(value)))
    out.push(path.replace(/^\./, '') || 'the request');
  else if (Array.isArray(value)) value.forEach((v, i) => markedFields(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      // A map's keys are data, not field names: a marked key is reported as the map's.
      if (k === BAD_STRING) out.push(`${path.replace(/^\./, '')} (a key)`);
      else markedFields(v, path + segment(k), out);
    }
  }
}

function fieldsNamed(decode: GeneratedDecode, bytes: Buffer): string {
  try {
    const found: string[] = [];
    markedFields(decode(new DiagnosticReader(bytes)), '', found);
    return found.length ? ` (${found.join(', ')})` : '';
  } catch {
    return '';
  }
}

/** Wraps one method's generated deserializer: strict UTF-8, failures as InvalidRequest. */
export function strictDeserializer(methodPath: string, original: Decoder): Decoder {
  // The generated deserializer is `(value) => X.decode(value)`, and X.decode also accepts a
  // reader: passing ours makes every nested message and map entry strict too.
  const decode = original as unknown as GeneratedDecode;
  return (bytes: Buffer) => {
    try {
      return decode(
        new BinaryReader(bytes, (b) => {
          try {
            return fatalUtf8.decode(b);
          } catch {
            throw new InvalidUtf8();
          }
        }),
      );
    } catch (err) {
      const method = methodPath.slice(methodPath.lastIndexOf('/') + 1);
      let problem: string;
      if (err instanceof InvalidUtf8) problem = `a string field is not valid UTF-8${fieldsNamed(decode, bytes)}`;
      else if (/SAFE_INTEGER/.test((err as Error)?.message ?? '')) {
        problem = `a number is too large${fieldsNamed(decode, bytes)}; integers must lie within ±(2^53-1)`;
      } else problem = `it is not a well-formed ${method} message (${(err as Error)?.message ?? String(err)})`;
      return new InvalidRequest(invalidArgument(`request is not valid: ${problem}`));
    }
  };
}

type Handler = (...args: never[]) => void;

function strictHandler(requestStream: boolean, responseStream: boolean, handler: Handler): Handler {
  if (requestStream) {
    // A chunk that could not be decoded becomes an 'error' event: the handler fails the call
    // (and discards what it received) as it does for a broken stream.
    return ((call: NodeJS.EventEmitter, ...rest: unknown[]) => {
      const emit = call.emit.bind(call);
      call.emit = (event: string | symbol, ...args: unknown[]) =>
        event === 'data' && args[0] instanceof InvalidRequest
          ? emit('error', args[0].error.toServiceError())
          : emit(event, ...args);
      return (handler as (...a: unknown[]) => void)(call, ...rest);
    }) as Handler;
  }
  if (responseStream) {
    return ((call: ServerWritableStream<unknown, unknown>) => {
      if (call.request instanceof InvalidRequest) call.emit('error', call.request.error.toServiceError());
      else (handler as (c: typeof call) => void)(call);
    }) as Handler;
  }
  return ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    if (call.request instanceof InvalidRequest) callback(call.request.error.toServiceError());
    else (handler as (c: typeof call, cb: typeof callback) => void)(call, callback);
  }) as Handler;
}

/** `server.addService` with strict decoding of every method's requests. */
export function addStrictService(server: Server, definition: ServiceDefinition, implementation: object): void {
  const def: Record<string, unknown> = {};
  const impl: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(definition)) {
    def[name] = { ...m, requestDeserialize: strictDeserializer(m.path, m.requestDeserialize as Decoder) };
    const h = (implementation as Record<string, Handler | undefined>)[name];
    if (h) impl[name] = strictHandler(m.requestStream, m.responseStream, h);
  }
  server.addService(def as ServiceDefinition, impl as UntypedServiceImplementation);
}
