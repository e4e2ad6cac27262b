/**
 * The message protocol between a caller and a hypervisor hosted in a worker
 * (Node worker_threads, Web Workers in Deno and browsers).
 *
 * Calls carry a request id; every call gets exactly one response, a result
 * or a serialised error. Hypervisor events are forwarded as they happen. One
 * port delivers messages in order, so every event a call caused arrives
 * before the call's response.
 *
 * Byte arrays cross as tight copies whose buffers are transferred: a
 * structured clone of a view copies the view's whole ArrayBuffer (a console
 * write is a view of the partition's RAM, which is a view of the whole pool),
 * and transferring the caller's own buffer would detach it under the caller.
 */
import { ConfigError, ElfError, FleetError, PartitionError, RvisorError, SnapshotError } from '../errors.ts';
import type { HypervisorEvents, HypervisorOptions, HypervisorStats } from '../hypervisor/hypervisor.ts';
import type { PartitionConfig, PartitionStats } from '../hypervisor/partition.ts';
import type { AdmissionRequest, SharedWindowSpec } from '../memory/partitioner.ts';
import type { ChannelConfig } from '../partition/channel.ts';
import type { FaultInfo, PartitionState } from '../partition/lifecycle.ts';
import type { Sample } from '../partition/sampling.ts';
import type { ScheduleConfig, TimeBase } from '../schedule/frame.ts';

/** Bumped when a message's shape changes, so a worker built from other sources is refused. */
export const WORKER_PROTOCOL_VERSION = 1;

// Codes of the errors the transport itself raises (RvisorError).
/** Raised by calls pending or made after `RemoteHypervisor.terminate()`. */
export const WORKER_TERMINATED = 'WORKER_TERMINATED';
/** Raised by calls pending or made after the worker died (uncaught error, exit). */
export const WORKER_FAILED = 'WORKER_FAILED';
/**
 * Raised when the worker is initialised twice or speaks another protocol version (a worker built from other sources).
 */
export const WORKER_PROTOCOL = 'WORKER_PROTOCOL';
/** Raised when a call names a method the worker does not serve. */
export const WORKER_UNKNOWN_METHOD = 'WORKER_UNKNOWN_METHOD';

/** Hypervisor options that can cross to a worker: a clock is code and stays on the worker's side. */
export type WorkerHypervisorOptions = Omit<HypervisorOptions, 'clock'>;

/** Shared windows and grants to admit together with a new partition (see `Hypervisor.createPartition`). */
export type PartitionShare = Pick<AdmissionRequest, 'windows' | 'grants'>;

/** A schedule configuration as `setSchedules` takes it: the time base may be left out (it is the hypervisor's). */
export type ScheduleInput = Omit<ScheduleConfig, 'timeBase'> & { timeBase?: TimeBase };

/** A partition as plain data: what a caller outside the worker can see of it. */
export interface PartitionInfo {
  /** The partition's unique name. */
  name: string;
  /** Small integer the guest reads with `HC_PARTITION_ID`. */
  id: number;
  /** Lifecycle state when the info was taken. */
  state: PartitionState;
  /** Counters when the info was taken. */
  stats: PartitionStats;
  /** The fault while `faulted`. */
  fault: FaultInfo | undefined;
  /** Exit code once the guest has exited. */
  exitCode: number | undefined;
}

/**
 * What a worker serves: the Hypervisor's operations as they look from
 * outside, synchronous here, each a Promise on the caller's side.
 */
export interface WorkerApi {
  createPartition(config: PartitionConfig, share?: PartitionShare): PartitionInfo;
  destroyPartition(name: string): void;
  partition(name: string): PartitionInfo | undefined;
  partitions(): PartitionInfo[];
  start(name: string): void;
  pause(name: string): void;
  resume(name: string): void;
  stop(name: string): void;
  restart(name: string): void;
  addWindow(spec: SharedWindowSpec): void;
  addChannel(config: ChannelConfig & { id?: number }): number;
  channelId(name: string): number | undefined;
  send(channel: string, message: Uint8Array): boolean;
  receive(channel: string): Uint8Array | undefined;
  read(channel: string): Sample | undefined;
  setSchedules(configs: ReadonlyArray<ScheduleInput>, initial?: string): void;
  switchSchedule(name: string): void;
  runFrames(n: number): void;
  run(options?: { frames?: number }): Promise<void>;
  halt(): void;
  stats(): HypervisorStats;
  now(): number;
  checkpoint(name: string): void;
  snapshot(name: string): Promise<Uint8Array>;
  restore(doc: Uint8Array, options?: { name?: string; reason?: 'restored' | 'migrated' }): Promise<PartitionInfo>;
  clone(name: string, newName: string): Promise<PartitionInfo>;
  snapshotGateway(): Promise<Uint8Array>;
}

export type WorkerMethod = keyof WorkerApi;

export type EventType = keyof HypervisorEvents;

export const EVENT_TYPES: ReadonlyArray<EventType> = /* @__PURE__ */ Object.freeze([
  'console', 'transition', 'telemetry', 'health', 'frame', 'switch',
] as const);

export interface SerializedError {
  name: string;
  message: string;
  /** Present for RvisorErrors. */
  code?: string;
}

/** Options of a worker hypervisor rebuilt from a gateway snapshot: poolSize may come from the snapshot. */
export type WorkerRestoreOptions = Partial<WorkerHypervisorOptions> & { resume?: boolean };

export interface InitRequest {
  t: 'init';
  version: number;
  options: WorkerHypervisorOptions | WorkerRestoreOptions;
  /** Build the hypervisor with Hypervisor.restoreGateway(gateway, options) instead of the constructor. */
  gateway?: Uint8Array;
  /**
   * Shared flag the caller sets before terminating: the worker checks it
   * after every major frame and closes itself. Deno's terminate() cannot
   * interrupt a worker busy in runFrames(); a shared word reaches it.
   */
  stop?: Int32Array;
  /** Event types to forward; the others are never posted. */
  events: ReadonlyArray<EventType>;
}

export interface CallRequest {
  t: 'call';
  id: number;
  method: string;
  args: unknown[];
}

export type Request = InitRequest | CallRequest;

/** Response to init has id 0. */
export type Response =
  | { t: 'result'; id: number; value: unknown }
  | { t: 'error'; id: number; error: SerializedError }
  | { t: 'event'; type: EventType; payload: unknown };

/** What one side of a worker connection needs: Node's parentPort, a Worker, `self`. */
export interface MessagePortLike {
  /** Send `message` to the other side, transferring (detaching) the buffers in `transfer`. */
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Register `listener` for every message from the other side, in arrival order. */
  onMessage(listener: (message: unknown) => void): void;
  /** Worker side: end this worker from inside (a Web Worker's `close()`). */
  close?(): void;
}

// ----- errors -----

const ERROR_CLASSES: Record<string, new (code: string, message: string) => RvisorError> = {
  RvisorError,
  ConfigError,
  ElfError,
  PartitionError,
  SnapshotError,
  FleetError,
};

export function serializeError(e: unknown): SerializedError {
  if (e instanceof RvisorError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/**
 * Rebuild an error on the caller's side: an RvisorError comes back as the
 * same subclass with the same code, so `instanceof ConfigError` and
 * `e.code === 'SCHEDULE_OVERLAP'` work as they do in-process.
 */
export function deserializeError(s: SerializedError): Error {
  if (s.code !== undefined) {
    const Ctor = ERROR_CLASSES[s.name] ?? RvisorError;
    return new Ctor(s.code, s.message);
  }
  const e = new Error(s.message);
  e.name = s.name;
  return e;
}

// ----- byte arrays -----

/**
 * A structured-clone-safe copy of `value` with every byte array replaced by
 * a tight copy whose buffer is added to `transfer`. Plain objects and arrays
 * are walked; other values are returned as they are.
 */
export function pack(value: unknown, transfer: ArrayBuffer[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    if (!(value instanceof Uint8Array)) return value;
    // Uint8Array.prototype.slice also turns a Node Buffer into a plain Uint8Array.
    const copy = Uint8Array.prototype.slice.call(value);
    transfer.push(copy.buffer);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => pack(v, transfer));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = pack((value as Record<string, unknown>)[k], transfer);
  return out;
}

export function isRequest(m: unknown): m is Request {
  return typeof m === 'object' && m !== null && ((m as Request).t === 'init' || (m as Request).t === 'call');
}

export function isResponse(m: unknown): m is Response {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as Response).t;
  return t === 'result' || t === 'error' || t === 'event';
}
