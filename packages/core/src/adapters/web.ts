/**
 * `@rvisor/core/adapters/web`: a hypervisor in a module Web Worker (Deno,
 * browsers), so the run loop never holds the page's or the process's event
 * loop, with the Hypervisor's API as Promises (see RemoteHypervisor).
 *
 * @module @rvisor/core/adapters/web
 */
import { RemoteHypervisor } from './_remote.ts';
import type { RemoteOptions } from './_remote.ts';
import type { WorkerHypervisorOptions, WorkerRestoreOptions } from './_protocol.ts';

/** Options for the Web adapter's `createWorkerHypervisor()`. */
export interface WebWorkerOptions extends RemoteOptions {
  /**
   * The worker's entry module. Default: web-worker.js next to this module
   * (web-worker.ts when running from sources, e.g. under Deno). Bundlers
   * that rewrite workers want it spelled out:
   * `workerUrl: new URL('@rvisor/core/adapters/web-worker', import.meta.url)`.
   */
  workerUrl?: URL | string;
}

/** The worker entry next to this module, with this module's own extension (.ts from sources, .js built). */
export function defaultWebWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./web-worker.ts', import.meta.url) : new URL('./web-worker.js', import.meta.url);
}

/**
 * Start a module Web Worker hosting `new Hypervisor(options)`, or
 * `Hypervisor.restoreGateway(worker.gateway, options)`. Rejects with
 * the Hypervisor's own ConfigError for bad options (and ends the worker).
 * Call `terminate()` when done: Deno stays alive while a worker lives.
 */
export async function createWorkerHypervisor(
  options: WorkerHypervisorOptions | WorkerRestoreOptions,
  worker: WebWorkerOptions = {},
): Promise<RemoteHypervisor> {
  const url = worker.workerUrl === undefined ? defaultWebWorkerUrl() : new URL(worker.workerUrl, import.meta.url);
  const w = new Worker(url, { type: 'module', name: 'rvisor-hypervisor' });
  const listeners: Array<(m: unknown) => void> = [];
  w.onmessage = (e: MessageEvent) => {
    for (const l of listeners) l(e.data);
  };
  const remote = new RemoteHypervisor({
    postMessage: (m, transfer) => w.postMessage(m, transfer ?? []),
    onMessage: (l) => void listeners.push(l),
    terminate: () => w.terminate(),
  });
  w.onerror = (e: ErrorEvent) => {
    // Handled here: unhandled, a worker's error would also end a Deno host.
    e.preventDefault();
    remote.fail(e.message, e.error);
  };
  w.onmessageerror = () => remote.fail('a message from the worker could not be deserialised');
  try {
    await remote.init(options, worker);
  } catch (e) {
    await remote.terminate();
    throw e;
  }
  return remote;
}

export { RemoteHypervisor } from './_remote.ts';
export type { RemoteOptions, WorkerEndpoint } from './_remote.ts';
export type { PartitionInfo, PartitionShare, ScheduleInput, WorkerHypervisorOptions, WorkerRestoreOptions } from './_protocol.ts';
export { WORKER_FAILED, WORKER_PROTOCOL, WORKER_TERMINATED, WORKER_UNKNOWN_METHOD } from './_protocol.ts';
