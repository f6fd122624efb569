import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import { DEVICES } from '../../sdk/runtime/devices.ts';
import { ServerLimitsSchema } from '../../sdk/remote/protocol.ts';
import { readToken } from './cliArgs.ts';
import { DEFAULT_MODEL_DIR } from './cliModel.ts';

const HELP = `usage: emu worker --nats nats://HOST:PORT[/NAME] [--model DIR] [--device cpu|cuda|webgpu] [--threads N]
                  [--max-concurrency N] [--max-queue N] [--subject NAME] [--heartbeat-ms N]
                  [--token T | --token-file FILE]

Joins a NATS cluster as an engine worker: takes requests from emu.<NAME>.request in the queue group
emu-workers while it has a free slot, streams events back, heartbeats while a request is open.
Adding a worker adds capacity; clients (NatsBackend, \`emu serve --nats\`) change nothing.
Prints \`worker ready <subject>\` on stdout once subscribed; SIGINT/SIGTERM stop taking requests and
let the open ones finish (a second signal cancels them: their clients retry elsewhere).

  --nats URL             NATS server(s), comma-separated; a path names the cluster (default: default)
  --model DIR            model folder (default: models/emu-nano)
  --subject NAME         the cluster name (subjects emu.NAME.*); wins over the URL's path
  --max-concurrency N    requests run at once (default 1): the worker's capacity
  --max-queue N          the engine's queue (default 16)
  --heartbeat-ms N       heartbeat period while a request is open (default 1000)
  --token T              the NATS server's token; prefer --token-file or EMU_NATS_TOKEN`;

const int = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError('input_invalid', `${flag} expects a whole number, got '${v}'`);
  return n;
};

/** `emu worker …`: runs until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nats: { type: 'string' },
      model: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      subject: { type: 'string' },
      'max-concurrency': { type: 'string' },
      'max-queue': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.nats) throw new InputError('input_invalid', 'pass --nats nats://HOST:PORT (the NATS server to join)');
  const device = parseOrThrow(z.enum(DEVICES), values.device, '--device');
  const concurrency = int(values['max-concurrency'], '--max-concurrency');
  const queue = int(values['max-queue'], '--max-queue');
  const limits = parseOrThrow(ServerLimitsSchema.partial(), { ...(concurrency !== undefined ? { maxConcurrency: concurrency } : {}), ...(queue !== undefined ? { maxQueue: queue } : {}) }, 'emu worker limits');
  const heartbeatMs = int(values['heartbeat-ms'], '--heartbeat-ms');
  if (heartbeatMs === 0) throw new InputError('input_invalid', '--heartbeat-ms must be at least 1');
  const token = values['token-file'] ? await readToken(values['token-file']) : (values.token ?? process.env.EMU_NATS_TOKEN);
  const log = (line: string) => console.error(`[emu worker] ${line}`);

  const [{ OnnxBackend }, { localEngine }, { NatsWorker }] = await Promise.all([import('../../sdk/OnnxBackend.ts'), import('../../sdk/remote/serveRequest.ts'), import('../../sdk/remote/nats/NatsWorker.ts')]);
  const backend = await OnnxBackend.load(values.model ?? DEFAULT_MODEL_DIR, { device, ...(values.threads ? { threads: int(values.threads, '--threads')! } : {}), log });
  const engine = localEngine(backend, { limits, device });
  const worker = await NatsWorker.start({
    url: values.nats,
    engine,
    log,
    ...(values.subject ? { subject: values.subject } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    ...(token ? { token } : {}),
  }).catch(async (err: unknown) => {
    await backend.close();
    throw err;
  });
  log(`${engine.modelName} as ${worker.id} on ${worker.subjects.request} (queue group emu-workers; concurrency ${engine.limits.maxConcurrency})`);
  // A line a supervisor (or a test) can wait for.
  console.log(`worker ready ${worker.subjects.request}`);
  let signals = 0;
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        log(`stopping: ${worker.open} request(s) open finish first (signal again to cancel them)`);
        resolve();
      } else {
        log('cancelling the open requests');
        void worker.close({ cancel: true });
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await worker.close();
  await backend.close();
  log(`stopped after ${worker.served} request(s)`);
  return 0;
}
