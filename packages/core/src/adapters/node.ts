/**
 * `@rvisor/core/adapters/node`: a hypervisor in a Node worker_thread, so the
 * run loop never holds the embedder's event loop, with the Hypervisor's API
 * as Promises (see RemoteHypervisor).
 *
 * node:worker_threads is imported dynamically and typed locally: core
 * compiles without Node's types (`"types": []`), and a `/// <reference
 * types="node" />` here would make Buffer and process compile everywhere in
 * core.
 *
 * @module @rvisor/core/adapters/node
 */
import { RemoteHypervisor } from './_remote.ts';
import type { RemoteOptions } from './_remote.ts';
import type { WorkerHypervisorOptions, WorkerRestoreOptions } from './_protocol.ts';

/** The part of node:worker_threads' Worker used here. */
interface NodeWorker {
  postMessage(value: unknown, transferList?: ReadonlyArray<ArrayBuffer>): void;
  on(event: 'message', listener: (value: unknown) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
  terminate(): Promise<number>;
}

interface WorkerThreads {
  Worker: new (entry: URL | string, options?: { eval?: boolean; name?: string; resourceLimits?: NodeResourceLimits }) => NodeWorker;
}

/** V8 heap and stack limits for the worker thread (Node's `Worker` `resourceLimits`), in MiB. */
export interface NodeResourceLimits {
  /** Maximum size of the worker's main heap. */
  maxOldGenerationSizeMb?: number;
  /** Maximum size of the heap space for recently created objects. */
  maxYoungGenerationSizeMb?: number;
  /** Size of the pre-allocated memory range for generated code. */
  codeRangeSizeMb?: number;
  /** Default maximum stack size of the thread. */
  stackSizeMb?: number;
}

/** Options for the Node adapter's `createWorkerHypervisor()`. */
export interface NodeWorkerOptions extends RemoteOptions {
  /**
   * The worker's entry module. Default: node-worker.js next to this module
   * (node-worker.ts when running from sources, e.g. under tsx); set it when
   * a bundler moved the files.
   */
  workerUrl?: URL | string;
  /** Passed to the Worker (V8 heap limits of the worker). */
  resourceLimits?: NodeResourceLimits;
}

// A string, not a literal in import(): bundlers targeting browsers leave it alone.
const WORKER_THREADS: string = 'node:worker_threads';

/** The worker entry next to this module, with this module's own extension (.ts from sources, .js built). */
export function defaultNodeWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./node-worker.ts', import.meta.url) : new URL('./node-worker.js', import.meta.url);
}

/**
 * A worker started from TypeScript sources needs a loader, and Node 20 does
 * not carry one registered with `--import` into workers (tsx registers on the
 * main thread only: privatenumber/tsx#354). When tsx is installed, the
 * worker registers it itself before loading the entry; otherwise the entry
 * is loaded as is (Deno, or a Node that strips types natively).
 */
function sourceBootstrap(entry: URL): string | undefined {
  const g = globalThis as { Deno?: unknown; process?: { features?: { typescript?: unknown } } };
  if (g.Deno !== undefined || g.process?.features?.typescript) return undefined;
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/**
 * Start a worker_thread hosting `new Hypervisor(options)`, or
 * `Hypervisor.restoreGateway(worker.gateway, options)`. Rejects with the
 * Hypervisor's own ConfigError for bad options (and ends the worker).
 * Call `terminate()` when done: a live worker keeps the process running.
 */
export async function createWorkerHypervisor(
  options: WorkerHypervisorOptions | WorkerRestoreOptions,
  worker: NodeWorkerOptions = {},
): Promise<RemoteHypervisor> {
  const { Worker } = (await import(WORKER_THREADS)) as WorkerThreads;
  const url = worker.workerUrl === undefined ? defaultNodeWorkerUrl() : new URL(worker.workerUrl, import.meta.url);
  const boot = url.pathname.endsWith('.ts') ? sourceBootstrap(url) : undefined;
  const w = new Worker(boot ?? url, { eval: boot !== undefined, name: 'rvisor-hypervisor', resourceLimits: worker.resourceLimits });
  const listeners: Array<(m: unknown) => void> = [];
  w.on('message', (m) => {
    for (const l of listeners) l(m);
  });
  const remote = new RemoteHypervisor({
    postMessage: (m, transfer) => w.postMessage(m, transfer),
    onMessage: (l) => void listeners.push(l),
    terminate: () => w.terminate(),
  });
  w.on('error', (e) => remote.fail(e.message, e));
  w.on('exit', (code) => remote.fail(`exited with code ${code}`));
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
