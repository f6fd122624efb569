import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import { DEVICES } from '../../sdk/runtime/devices.ts';
import { ServerLimitsSchema } from '../../sdk/remote/protocol.ts';
import { readToken } from './cliArgs.ts';
import { DEFAULT_MODEL_DIR } from './cliModel.ts';

const HELP = `usage: emu serve [--model DIR | --nats nats://HOST:PORT] [--device cpu|cuda|webgpu] [--threads N]
                 [--host H] [--port P] [--token T | --token-file FILE] [--max-concurrency N] [--max-queue N]
                 [--max-images N] [--max-pixels N] [--max-prompt-tokens N] [--max-new-tokens N] [--max-frame-mb N]

Serves the engine over WebSocket (msgpack frames) for RemoteBackend clients: robots' bridges
(model.url in the bridge config), \`emu sim eval --backend ws://…\`, \`emu generate --backend ws://…\`.
GET /healthz and GET /metrics (Prometheus) on the same port.

  --model DIR            model folder (default: models/emu-nano)
  --nats URL             be a front end for the workers of a NATS cluster (\`emu worker\`) instead of
                         running a model here (the limits are the workers'); the NATS server's own
                         token from --nats-token-file or EMU_NATS_TOKEN
  --nats-token-file F    the NATS server's token (not the clients' --token)
  --host H               interface to bind (default 127.0.0.1); anything but loopback needs a token
  --port P               default 8765; 0 picks a free one (printed)
  --token T              clients must send it (Authorization: Bearer T); prefer --token-file or
                         EMU_TOKEN, which \`ps\` does not show
  --max-concurrency N    requests run at once (default 1)
  --max-queue N          requests waiting for a slot (default 16); beyond it: overloaded (retryable)
  --max-images N  --max-pixels N  --max-prompt-tokens N  --max-new-tokens N  --max-frame-mb N
                         per-request limits (defaults: 4, 4096², the model's context, 64 MiB)`;

const int = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError('input_invalid', `${flag} expects a whole number, got '${v}'`);
  return n;
};

/** `emu serve …`: runs until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      nats: { type: 'string' },
      'nats-token-file': { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8765' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-images': { type: 'string' },
      'max-pixels': { type: 'string' },
      'max-prompt-tokens': { type: 'string' },
      'max-new-tokens': { type: 'string' },
      'max-frame-mb': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.model && values.nats) throw new InputError('input_invalid', 'pass --model DIR or --nats URL, not both');
  const limitFlags = ['max-concurrency', 'max-queue', 'max-images', 'max-pixels', 'max-prompt-tokens', 'max-new-tokens', 'max-frame-mb', 'device', 'threads'].filter((f) => argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
  if (values.nats && limitFlags.length) throw new InputError('input_invalid', `--${limitFlags[0]} applies to a model served here; behind --nats the workers set their own (emu worker --${limitFlags[0]} …)`);
  const device = parseOrThrow(z.enum(DEVICES), values.device, '--device');
  const frameMb = int(values['max-frame-mb'], '--max-frame-mb');
  const limits = parseOrThrow(
    ServerLimitsSchema.partial(),
    stripUndefined({
      maxConcurrency: int(values['max-concurrency'], '--max-concurrency'),
      maxQueue: int(values['max-queue'], '--max-queue'),
      maxImages: int(values['max-images'], '--max-images'),
      maxPixels: int(values['max-pixels'], '--max-pixels'),
      maxPromptTokens: int(values['max-prompt-tokens'], '--max-prompt-tokens'),
      maxNewTokens: int(values['max-new-tokens'], '--max-new-tokens'),
      maxFrameBytes: frameMb === undefined ? undefined : frameMb * 1024 * 1024,
    }),
    'emu serve limits',
  );
  const token = values['token-file'] ? await readToken(values['token-file']) : (values.token ?? process.env.EMU_TOKEN);
  const log = (line: string) => console.error(`[emu serve] ${line}`);

  const [{ EmuServer }, { ServerMetrics }] = await Promise.all([import('../../sdk/remote/EmuServer.ts'), import('../../sdk/remote/ServerMetrics.ts')]);
  const metrics = new ServerMetrics();
  let engine;
  let closeBackend: () => Promise<void>;
  if (values.nats) {
    const { natsEngine } = await import('../../sdk/remote/nats/natsEngine.ts');
    const natsToken = values['nats-token-file'] ? await readToken(values['nats-token-file']) : process.env.EMU_NATS_TOKEN;
    const front = await natsEngine(values.nats, { log, ...(natsToken ? { token: natsToken } : {}) });
    engine = front;
    closeBackend = () => front.close?.() ?? Promise.resolve();
  } else {
    const [{ OnnxBackend }, { localEngine }] = await Promise.all([import('../../sdk/OnnxBackend.ts'), import('../../sdk/remote/serveRequest.ts')]);
    const backend = await OnnxBackend.load(values.model ?? DEFAULT_MODEL_DIR, { device, ...(values.threads ? { threads: int(values.threads, '--threads')! } : {}), log });
    engine = localEngine(backend, { limits, device, metrics });
    closeBackend = () => backend.close();
  }
  const server = await EmuServer.start({ engine, host: values.host, port: int(values.port, '--port')!, ...(token ? { token } : {}), metrics, log }).catch(async (err: unknown) => {
    await closeBackend();
    throw err;
  });
  const { limits: l } = engine.hello;
  log(`${engine.modelName} on ${server.url} (${token ? 'token required' : 'no token: loopback only'}; concurrency ${l.maxConcurrency}, queue ${l.maxQueue}); GET /healthz, /metrics`);
  // A line a supervisor (or a test) can wait for, with the port when 0 was asked for.
  console.log(`listening ${server.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('stopping: cancelling requests in flight');
  await server.close();
  await closeBackend();
  return 0;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
