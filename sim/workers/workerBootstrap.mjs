// Worker entry: registers tsx so the TypeScript job module can load, then answers one job per message.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const job = await import(workerData.module);
parentPort.on('message', async ({ id, input }) => {
  try {
    parentPort.postMessage({ id, ok: true, output: await job.runJob(input) });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: String(err?.stack ?? err) });
  }
});
parentPort.postMessage({ ready: true });
