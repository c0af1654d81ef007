/** Server interceptors: bearer-token authentication (TCP) and one log line per RPC. */
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Logger } from '../logger';
import { secretMatches } from '../secretMatches';

export function authInterceptor(token: string): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) => {
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, mdNext) => {
                const header = String(metadata.get('authorization')[0] ?? '');
                const given = header.startsWith('Bearer ') ? header.slice(7) : '';
                if (given && secretMatches(given, token)) return mdNext(metadata);
                call.sendStatus({
                  code: status.UNAUTHENTICATED,
                  details: 'missing or wrong token: send metadata "authorization: Bearer <token>"',
                  metadata: new Metadata(),
                });
              })
              .build(),
          );
        })
        .build(),
    );
}

export function loggingInterceptor(log: Logger): ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withSendStatus((st, next) => {
          log.info('rpc', {
            method: method.path,
            durationMs: Math.round((performance.now() - started) * 10) / 10,
            code: status[st.code] ?? st.code,
            ...(st.code !== status.OK ? { details: st.details } : {}),
          });
          next(st);
        })
        .build(),
    );
  };
}
