/**
 * The caller's side of a worker-hosted hypervisor: the Hypervisor's
 * operations, each a Promise, and its events, forwarded from the worker.
 * Runtime-agnostic; the adapters (node.ts, web.ts) supply the endpoint.
 */
import { RvisorError } from '../errors.ts';
import type { HypervisorEvents, HypervisorStats } from '../hypervisor/hypervisor.ts';
import type { PartitionConfig } from '../hypervisor/partition.ts';
import type { SharedWindowSpec } from '../memory/partitioner.ts';
import type { ChannelConfig } from '../partition/channel.ts';
import { Emitter } from '../partition/events.ts';
import type { Sample } from '../partition/sampling.ts';
import {
  deserializeError, EVENT_TYPES, isResponse, pack, WORKER_FAILED, WORKER_PROTOCOL_VERSION, WORKER_TERMINATED,
} from './_protocol.ts';
import type {
  EventType, MessagePortLike, PartitionInfo, PartitionShare, Request, Response, ScheduleInput, WorkerApi, WorkerHypervisorOptions,
  WorkerMethod, WorkerRestoreOptions,
} from './_protocol.ts';

/** A worker as the caller holds it: a port plus a way to end it. */
export interface WorkerEndpoint extends MessagePortLike {
  /** End the worker at once (its result may be a Promise; it is awaited). */
  terminate(): unknown;
}

/** Caller-side options of a worker-hosted hypervisor, shared by the Node and Web adapters. */
export interface RemoteOptions {
  /** Event types the worker forwards (default: all but `window`). Fewer types, fewer messages. */
  events?: ReadonlyArray<EventType>;
  /**
   * Start from a gateway snapshot (Hypervisor.restoreGateway) instead of an
   * empty hypervisor; the options' poolSize may then be left out.
   */
  gateway?: Uint8Array;
  /** With `gateway`: partitions that were running resume at once (default: they land paused). */
  resume?: boolean;
}

/** The Promise a remote call resolves to: the worker method's (awaited) return value. */
/** What a RemoteHypervisor method resolves to: the worker-side method's result, as plain data. */
type Result<K extends WorkerMethod> = Promise<Awaited<ReturnType<WorkerApi[K]>>>;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A {@link "@rvisor/core/hypervisor"!Hypervisor | Hypervisor} running in a worker, seen from the
 * caller's thread: the same operations, each returning a Promise, and the same events, forwarded in
 * order. Create it with `createWorkerHypervisor()`.
 */
export class RemoteHypervisor {
  /** The hypervisor's events, as the worker emitted them, in order. */
  readonly events: Emitter<HypervisorEvents>;

  private readonly endpoint: WorkerEndpoint;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Raised by terminate() for a worker that is busy in a synchronous run (see InitRequest.stop). */
  private readonly stopFlag: Int32Array | undefined =
    // Browsers hide SharedArrayBuffer from pages that are not cross-origin isolated; their terminate() needs no help.
    typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
  /** Set once the worker is gone; every later call rejects with it. */
  private closed: RvisorError | undefined;

  /** @internal use `createWorkerHypervisor()` from `@rvisor/core/adapters/node` or `/web`. */
  constructor(endpoint: WorkerEndpoint) {
    this.endpoint = endpoint;
    this.events = new Emitter({ onListenerError: (e) => console.error('rvisor: an event listener threw:', e) });
    endpoint.onMessage((m) => this.onMessage(m));
  }

  /** @internal build the worker's Hypervisor; rejects with its ConfigError on bad options. */
  init(options: WorkerHypervisorOptions | WorkerRestoreOptions, remote: RemoteOptions = {}): Promise<void> {
    const events = remote.events ?? EVENT_TYPES;
    const init: Request = { t: 'init', version: WORKER_PROTOCOL_VERSION, options, events, stop: this.stopFlag };
    if (remote.gateway !== undefined) {
      init.gateway = remote.gateway;
      init.options = { ...options, resume: remote.resume };
    }
    return this.request(0, init) as Promise<void>;
  }

  /**
   * @internal the adapter reports that the worker died (uncaught error,
   * exit): pending and later calls reject with WORKER_FAILED.
   */
  fail(reason: string, cause?: unknown): void {
    this.close(new RvisorError(WORKER_FAILED, `the hypervisor worker failed: ${reason}`, { cause }));
  }

  /** End the worker at once, even inside a window; pending calls reject with WORKER_TERMINATED. */
  async terminate(): Promise<void> {
    if (this.closed?.code === WORKER_TERMINATED) return;
    this.close(new RvisorError(WORKER_TERMINATED, 'the hypervisor worker was terminated'));
    if (this.stopFlag !== undefined) Atomics.store(this.stopFlag, 0, 1);
    await this.endpoint.terminate();
  }

  /** True once terminate() was called or the worker failed. */
  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  // ----- the Hypervisor's operations -----

  /**
   * See {@link "@rvisor/core/hypervisor"!Hypervisor.createPartition | Hypervisor.createPartition};
   * resolves to the new partition as plain data.
   */
  createPartition(config: PartitionConfig, share?: PartitionShare): Result<'createPartition'> {
    return this.call('createPartition', [config, share]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.destroyPartition | Hypervisor.destroyPartition}. */
  destroyPartition(name: string): Result<'destroyPartition'> {
    return this.call('destroyPartition', [name]);
  }
  /** Partition `name` as plain data, or undefined. */
  partition(name: string): Result<'partition'> {
    return this.call('partition', [name]);
  }
  /** All partitions as plain data, in creation order. */
  partitions(): Promise<PartitionInfo[]> {
    return this.call('partitions', []);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.start | Hypervisor.start}. */
  start(name: string): Result<'start'> {
    return this.call('start', [name]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.pause | Hypervisor.pause}. */
  pause(name: string): Result<'pause'> {
    return this.call('pause', [name]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.resume | Hypervisor.resume}. */
  resume(name: string): Result<'resume'> {
    return this.call('resume', [name]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.stop | Hypervisor.stop}. */
  stop(name: string): Result<'stop'> {
    return this.call('stop', [name]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.restart | Hypervisor.restart}. */
  restart(name: string): Result<'restart'> {
    return this.call('restart', [name]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.addWindow | Hypervisor.addWindow}. */
  addWindow(spec: SharedWindowSpec): Result<'addWindow'> {
    return this.call('addWindow', [spec]);
  }
  /**
   * See {@link "@rvisor/core/hypervisor"!Hypervisor.addChannel | Hypervisor.addChannel}; resolves to the
   * channel's number for guests.
   */
  addChannel(config: ChannelConfig & { id?: number }): Promise<number> {
    return this.call('addChannel', [config]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.channelId | Hypervisor.channelId}. */
  channelId(name: string): Result<'channelId'> {
    return this.call('channelId', [name]);
  }
  /** Host endpoint: send on a channel that lists '@host' as a sender. */
  send(channel: string, message: Uint8Array): Promise<boolean> {
    return this.call('send', [channel, message]);
  }
  /** Host endpoint: the oldest message of a queuing channel. */
  receive(channel: string): Promise<Uint8Array | undefined> {
    return this.call('receive', [channel]);
  }
  /** Host endpoint: the latest sample of a sampling channel. */
  read(channel: string): Promise<Sample | undefined> {
    return this.call('read', [channel]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.setSchedules | Hypervisor.setSchedules}. */
  setSchedules(configs: ReadonlyArray<ScheduleInput>, initial?: string): Result<'setSchedules'> {
    return this.call('setSchedules', [configs, initial]);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.switchSchedule | Hypervisor.switchSchedule}. */
  switchSchedule(name: string): Result<'switchSchedule'> {
    return this.call('switchSchedule', [name]);
  }
  /** Run `n` major frames in the worker (instructions time base); the caller's thread stays free. */
  runFrames(n: number): Result<'runFrames'> {
    return this.call('runFrames', [n]);
  }
  /** Resolves when the worker's run() returns: after `frames` major frames, or after halt(). */
  run(options?: { frames?: number }): Result<'run'> {
    return this.call('run', [options]);
  }
  /**
   * See {@link "@rvisor/core/hypervisor"!Hypervisor.halt | Hypervisor.halt}: the worker's `run()` returns
   * after the current window.
   */
  halt(): Result<'halt'> {
    return this.call('halt', []);
  }
  /** See {@link "@rvisor/core/hypervisor"!Hypervisor.stats | Hypervisor.stats}. */
  stats(): Promise<HypervisorStats> {
    return this.call('stats', []);
  }
  /**
   * The worker hypervisor's current time on its timeline (see
   * {@link "@rvisor/core/hypervisor"!Hypervisor.now | Hypervisor.now}).
   */
  now(): Promise<number> {
    return this.call('now', []);
  }
  /** Keep an in-memory checkpoint of a partition in the worker (for the health monitor's `restore`). */
  checkpoint(name: string): Result<'checkpoint'> {
    return this.call('checkpoint', [name]);
  }
  /** A partition's complete state as a snapshot document (the same bytes the in-process Hypervisor gives). */
  snapshot(name: string): Promise<Uint8Array> {
    return this.call('snapshot', [name]);
  }
  /** Create a partition from a snapshot document; it lands paused. */
  restore(doc: Uint8Array, options?: { name?: string; reason?: 'restored' | 'migrated' }): Promise<PartitionInfo> {
    return this.call('restore', [doc, options]);
  }
  /**
   * See {@link "@rvisor/core/hypervisor"!Hypervisor.clone | Hypervisor.clone}; resolves to the new, paused
   * partition as plain data.
   */
  clone(name: string, newName: string): Promise<PartitionInfo> {
    return this.call('clone', [name, newName]);
  }
  /** The whole gateway as a document; `createWorkerHypervisor(options, { gateway })` continues it in a new worker. */
  snapshotGateway(): Promise<Uint8Array> {
    return this.call('snapshotGateway', []);
  }

  // ----- transport -----

  private call<K extends WorkerMethod>(method: K, args: Parameters<WorkerApi[K]>): Result<K> {
    const id = this.nextId++;
    return this.request(id, { t: 'call', id, method, args }) as Result<K>;
  }

  private request(id: number, message: Request): Promise<unknown> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const transfer: ArrayBuffer[] = [];
      const packed = pack(message, transfer);
      this.pending.set(id, { resolve, reject });
      try {
        this.endpoint.postMessage(packed, transfer);
      } catch (e) {
        // A value that cannot be cloned (a function in a config) fails here, not in the worker.
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  private onMessage(m: unknown): void {
    if (!isResponse(m)) return;
    const r = m as Response;
    if (r.t === 'event') {
      this.events.emit(r.type, r.payload as never);
      return;
    }
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    if (r.t === 'result') p.resolve(r.value);
    else p.reject(deserializeError(r.error));
  }

  private close(error: RvisorError): void {
    if (this.closed !== undefined && this.closed.code === WORKER_TERMINATED) return;
    this.closed = error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
}
