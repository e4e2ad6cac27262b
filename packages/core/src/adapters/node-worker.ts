/**
 * Entry of the worker_thread started by `createWorkerHypervisor()` in
 * node.ts: serves one hypervisor on the parent port.
 */
import { serve } from './_serve.ts';

interface ParentPort {
  postMessage(value: unknown, transferList?: ReadonlyArray<ArrayBuffer>): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
}

const WORKER_THREADS: string = 'node:worker_threads';
const { parentPort } = (await import(WORKER_THREADS)) as { parentPort: ParentPort | null };
if (parentPort === null) throw new Error('rvisor node-worker must run in a worker_thread (see createWorkerHypervisor)');
const port = parentPort;
serve({
  postMessage: (m, transfer) => port.postMessage(m, transfer),
  onMessage: (l) => void port.on('message', l),
});
