import { Worker } from 'node:worker_threads';

export interface RunJobsOptions<O> {
  /** Worker threads; 0 or 1 runs the jobs in this thread. @default 1 */
  workers?: number;
  /** Called after each job finishes (progress bars). */
  onDone?: (index: number, output: O) => void;
  /** Stops handing out jobs; the jobs running finish, and their outputs are kept (the rest stay empty). */
  signal?: AbortSignal;
}

/**
 * Runs `runJob(input)` from `modulePath` (an absolute path or file URL of a module exporting
 * `runJob`) for each input, on up to `workers` threads; outputs come back in input order, so
 * results never depend on the worker count. After `signal` fires, the outputs array has holes
 * where jobs never ran.
 */
export async function runJobs<I, O>(modulePath: string, inputs: readonly I[], options: RunJobsOptions<O> = {}): Promise<O[]> {
  const workers = Math.max(1, Math.min(options.workers ?? 1, inputs.length));
  const outputs = new Array<O>(inputs.length);
  if (workers <= 1) {
    const job = (await import(modulePath)) as { runJob: (input: I) => Promise<O> | O };
    for (let i = 0; i < inputs.length && !options.signal?.aborted; i++) {
      outputs[i] = await job.runJob(inputs[i]!);
      options.onDone?.(i, outputs[i]!);
      // A job that never truly awaits keeps the whole loop in one macrotask; yield so that signal
      // handlers (Ctrl-C → abort) run between jobs, not only after the last one.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return outputs;
  }
  const bootstrap = new URL('./workerBootstrap.mjs', import.meta.url);
  let next = 0;
  const pool = Array.from({ length: workers }, () => new Worker(bootstrap, { workerData: { module: modulePath } }));
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= inputs.length || options.signal?.aborted) return resolve();
              const id = next++;
              worker.postMessage({ id, input: inputs[id] });
            };
            worker.on('message', (msg: { ready?: boolean; id: number; ok: boolean; output: O; error: string }) => {
              if (msg.ready) return feed();
              if (!msg.ok) return reject(new Error(`worker job ${msg.id} failed: ${msg.error}`));
              outputs[msg.id] = msg.output;
              options.onDone?.(msg.id, msg.output);
              feed();
            });
            worker.on('error', reject);
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return outputs;
}
