import { AbortError, ConfigError, type SdkError } from '../../errors.ts';
import { errorToWire, type Hello } from '../protocol.ts';
import type { Engine } from '../serveRequest.ts';
import { NatsDispatcher, type NatsBackendOptions } from './NatsBackend.ts';
import { encodeBody } from './natsProtocol.ts';

/**
 * The engine of `emu serve --nats nats://…[/name]`: a WebSocket front end for the workers of a NATS
 * queue group. Each request is forwarded to a worker with a free slot (or waits, FIFO, until one
 * frees: `queued` frames say where), its wire frames are relayed as they come, and the handshake is a
 * worker's. RemoteBackend clients cannot tell it from `emu serve --model`.
 */
export async function natsEngine(url: string, options: NatsBackendOptions = {}): Promise<Engine & { dispatcher: NatsDispatcher; close(): Promise<void> }> {
  const dispatcher = await NatsDispatcher.connect(url, options);
  const { worker: _worker, ...hello } = dispatcher.hello;
  return {
    hello: hello as Hello,
    modelName: hello.model.name,
    dispatcher,
    serve: (id, raw, ctx) =>
      new Promise<string>((resolve) => {
        let ended = false;
        const end = (result: string) => {
          ended = true;
          ctx.signal.removeEventListener('abort', onAbort);
          resolve(result);
        };
        const fail = (err: SdkError, wire?: ReturnType<typeof errorToWire>) => {
          if (ended) return;
          ctx.send({ t: 'error', id, error: wire ?? errorToWire(err) });
          end(err.code);
        };
        const onAbort = () => {
          handle?.cancel();
          fail(new AbortError('cancelled'));
        };
        let handle: { cancel(): void } | undefined;
        if (ctx.signal.aborted) return fail(new AbortError('cancelled before it started'));
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(new ConfigError('Invalid request: expected an object'));
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        handle = dispatcher.submit(encodeBody(raw), {
          queued: (position) => !ended && ctx.send({ t: 'queued', id, position }),
          event: (event) => {
            if (ended) return;
            ctx.send({ t: 'event', id, event });
            if (event.type === 'done') end('done');
          },
          fail,
        });
      }),
    status: () => dispatcher.status(),
    close: () => dispatcher.close(),
  };
}
