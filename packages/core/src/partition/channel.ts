/**
 * Channels: named, explicitly connected links between partitions, or between
 * a partition and the host (the embedder, the fleet agent). A channel lists
 * its senders and receivers when it is created; every send and receive is
 * checked against those lists, so a message can only ever reach an endpoint
 * the configuration connected.
 *
 * - sampling: any senders, any receivers, latest value with age/validity.
 * - queuing: any senders, exactly one receiver (a FIFO has one consumer, as
 *   in ARINC 653), bounded, with a per-channel overflow policy.
 */

import { ConfigError, RvisorError } from '../errors.ts';
import type { OverflowPolicy } from './queuing.ts';
import { QueuingPort } from './queuing.ts';
import type { Sample } from './sampling.ts';
import { SamplingPort } from './sampling.ts';

export { CHANNEL_BAD_STATE, CHANNEL_MESSAGE_TOO_LARGE } from './queuing.ts';

// Configuration errors (ConfigError).
/** Raised when a channel name is not a string matching `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`. */
export const CHANNEL_BAD_NAME = 'CHANNEL_BAD_NAME';
/** Raised when adding a channel whose name is already registered. */
export const CHANNEL_EXISTS = 'CHANNEL_EXISTS';
/** Raised when a channel's kind is neither `sampling` nor `queuing`. */
export const CHANNEL_BAD_KIND = 'CHANNEL_BAD_KIND';
/** maxMessageSize is not an integer in 1..MAX_MESSAGE_SIZE. */
export const CHANNEL_BAD_SIZE = 'CHANNEL_BAD_SIZE';
/** depth is not an integer in 1..MAX_QUEUE_DEPTH. */
export const CHANNEL_BAD_DEPTH = 'CHANNEL_BAD_DEPTH';
/** Raised when a queuing channel's overflow policy is neither `reject` nor `drop-oldest`. */
export const CHANNEL_BAD_POLICY = 'CHANNEL_BAD_POLICY';
/** refreshPeriod is not a positive number (Infinity allowed). */
export const CHANNEL_BAD_PERIOD = 'CHANNEL_BAD_PERIOD';
/** No sender, no receiver, a duplicate, or a queuing channel without exactly one receiver. */
export const CHANNEL_BAD_ENDPOINTS = 'CHANNEL_BAD_ENDPOINTS';
/** An endpoint names a partition that is not known. */
export const CHANNEL_UNKNOWN_PARTITION = 'CHANNEL_UNKNOWN_PARTITION';
// Run-time errors (RvisorError).
/** No channel of that name. */
export const CHANNEL_UNKNOWN = 'CHANNEL_UNKNOWN';
/** The endpoint is not connected to the channel in that direction. */
export const CHANNEL_NOT_CONNECTED = 'CHANNEL_NOT_CONNECTED';
/** receive() on a sampling channel or read() on a queuing one. */
export const CHANNEL_WRONG_KIND = 'CHANNEL_WRONG_KIND';

/** The host's endpoint name; partition ids never start with '@'. */
export const HOST = '@host';
/** Largest `maxMessageSize` a channel may declare: 1 MiB. */
export const MAX_MESSAGE_SIZE = 1 << 20;
/** Largest `depth` a queuing channel may declare: 65536 messages. */
export const MAX_QUEUE_DEPTH = 1 << 16;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A partition id or HOST. */
export type Endpoint = string;
/** A channel's semantics: `sampling` keeps only the latest value, `queuing` is a bounded FIFO. */
export type ChannelKind = 'sampling' | 'queuing';

/** Declaration of one channel: its kind, its connected endpoints and its size limits. */
export interface ChannelConfig {
  /** Unique channel name (letters, digits, `_`, `.`, `-`; at most 64 characters). */
  name: string;
  /** Sampling or queuing semantics. */
  kind: ChannelKind;
  /** Endpoints allowed to send: partition ids or {@link HOST}; at least one. */
  senders: ReadonlyArray<Endpoint>;
  /** Endpoints allowed to receive; at least one, and exactly one for a queuing channel. */
  receivers: ReadonlyArray<Endpoint>;
  /** Largest message in bytes, 1..{@link MAX_MESSAGE_SIZE}. */
  maxMessageSize: number;
  /** queuing: capacity in messages (required). */
  depth?: number;
  /** queuing: default 'reject'. */
  overflow?: OverflowPolicy;
  /** sampling: validity period in clock units; default Infinity. */
  refreshPeriod?: number;
}

abstract class ChannelBase {
  /** The channel's name. */
  readonly name: string;
  /** Largest message in bytes. */
  readonly maxMessageSize: number;
  /** Endpoints allowed to send. */
  protected readonly tx: Set<Endpoint>;
  /** Endpoints allowed to receive. */
  protected readonly rx: Set<Endpoint>;

  constructor(config: ChannelConfig) {
    this.name = config.name;
    this.maxMessageSize = config.maxMessageSize;
    this.tx = new Set(config.senders);
    this.rx = new Set(config.receivers);
  }

  /** Endpoints currently allowed to send (a copy). */
  get senders(): Endpoint[] {
    return [...this.tx];
  }

  /** Endpoints currently allowed to receive (a copy). */
  get receivers(): Endpoint[] {
    return [...this.rx];
  }

  /** True when `from` is connected as a sender. */
  canSend(from: Endpoint): boolean {
    return this.tx.has(from);
  }

  /** True when `to` is connected as a receiver. */
  canReceive(to: Endpoint): boolean {
    return this.rx.has(to);
  }

  /** Remove an endpoint (its partition is gone); returns whether it was connected. */
  detach(endpoint: Endpoint): boolean {
    const a = this.tx.delete(endpoint);
    const b = this.rx.delete(endpoint);
    return a || b;
  }

  /** @throws RvisorError `CHANNEL_NOT_CONNECTED` unless `from` is a sender. */
  protected checkSend(from: Endpoint): void {
    if (!this.tx.has(from)) throw new RvisorError(CHANNEL_NOT_CONNECTED, `${from} is not a sender on channel ${this.name}`);
  }

  /** @throws RvisorError `CHANNEL_NOT_CONNECTED` unless `to` is a receiver. */
  protected checkReceive(to: Endpoint): void {
    if (!this.rx.has(to)) throw new RvisorError(CHANNEL_NOT_CONNECTED, `${to} is not a receiver on channel ${this.name}`);
  }
}

/** A queuing channel: a {@link QueuingPort} whose sends and receives are checked against the configured endpoints. */
export class QueuingChannel extends ChannelBase {
  /** Discriminant of the {@link Channel} union. */
  readonly kind = 'queuing' as const;
  /** The underlying FIFO (no endpoint checks). */
  readonly port: QueuingPort;

  /** Create the channel from an already validated `config` (see {@link validateChannel}). */
  constructor(config: ChannelConfig) {
    super(config);
    this.port = new QueuingPort({ name: config.name, depth: config.depth!, maxMessageSize: config.maxMessageSize, overflow: config.overflow ?? 'reject' });
  }

  /** false when the queue is full under the `reject` policy. */
  send(from: Endpoint, message: Uint8Array): boolean {
    this.checkSend(from);
    return this.port.send(message);
  }

  /**
   * Take the oldest message for receiver `to`; undefined when the queue is empty.
   * @throws RvisorError `CHANNEL_NOT_CONNECTED` when `to` is not the receiver.
   */
  receive(to: Endpoint): Uint8Array | undefined {
    this.checkReceive(to);
    return this.port.receive();
  }

  /**
   * Size in bytes of the oldest message, or -1 when empty, for receiver `to`.
   * @throws RvisorError `CHANNEL_NOT_CONNECTED` when `to` is not the receiver.
   */
  peekSize(to: Endpoint): number {
    this.checkReceive(to);
    return this.port.peekSize();
  }

  override detach(endpoint: Endpoint): boolean {
    const wasReceiver = this.rx.has(endpoint);
    const had = super.detach(endpoint);
    // What was queued for a departed receiver must not reach a later partition that reuses its id.
    if (wasReceiver) this.port.clear();
    return had;
  }
}

/** A sampling channel: a {@link SamplingPort} whose writes and reads are checked against the configured endpoints. */
export class SamplingChannel extends ChannelBase {
  /** Discriminant of the {@link Channel} union. */
  readonly kind = 'sampling' as const;
  /** The underlying latest-value port (no endpoint checks). */
  readonly port: SamplingPort;

  /** Create the channel from an already validated `config`; `clock` times value ages. */
  constructor(config: ChannelConfig, clock: { now(): number }) {
    super(config);
    this.port = new SamplingPort({ name: config.name, maxMessageSize: config.maxMessageSize, refreshPeriod: config.refreshPeriod ?? Infinity, clock });
  }

  /** Replace the value; always true (the signature matches QueuingChannel.send). */
  send(from: Endpoint, message: Uint8Array): boolean {
    this.checkSend(from);
    this.port.write(message);
    return true;
  }

  /**
   * The latest value (a copy) with its age and validity for receiver `to`; undefined if never written.
   * @throws RvisorError `CHANNEL_NOT_CONNECTED` when `to` is not a receiver.
   */
  read(to: Endpoint): Sample | undefined {
    this.checkReceive(to);
    return this.port.read();
  }
}

/** Either kind of channel; narrow on `kind`. */
export type Channel = QueuingChannel | SamplingChannel;

/** Options for {@link ChannelRegistry}'s constructor. */
export interface ChannelRegistryOptions {
  /** Time for sampling ages; default performance.now() (milliseconds). */
  clock?: {
    /** Current time in milliseconds. */
    now(): number;
  };
}

/**
 * The set of channels of one hypervisor, by name: creates them from validated configs and routes endpoint sends and
 * receives.
 */
export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly clock: { now(): number };

  /** Create an empty registry. */
  constructor(options: ChannelRegistryOptions = {}) {
    this.clock = options.clock ?? { now: () => performance.now() };
  }

  /** Validate `config` (every partition endpoint must be in `knownPartitions`) and create the channel. */
  add(config: ChannelConfig, knownPartitions: Iterable<string>): Channel {
    validateChannel(config, new Set(knownPartitions));
    if (this.channels.has(config.name)) throw new ConfigError(CHANNEL_EXISTS, `channel ${config.name} already exists`);
    const ch = config.kind === 'queuing' ? new QueuingChannel(config) : new SamplingChannel(config, this.clock);
    this.channels.set(config.name, ch);
    return ch;
  }

  /** Delete channel `name` and any queued data; returns whether it existed. */
  remove(name: string): boolean {
    return this.channels.delete(name);
  }

  /** The channel called `name`, or undefined. */
  get(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  /** Names of all channels, in creation order. */
  names(): string[] {
    return [...this.channels.keys()];
  }

  /** Channels `endpoint` may send on or receive from. */
  of(endpoint: Endpoint): Channel[] {
    return [...this.channels.values()].filter((c) => c.canSend(endpoint) || c.canReceive(endpoint));
  }

  /** Disconnect a partition from every channel (it was destroyed); returns the channels it left. */
  detach(endpoint: Endpoint): string[] {
    const out: string[] = [];
    for (const c of this.channels.values()) if (c.detach(endpoint)) out.push(c.name);
    return out;
  }

  /** Send on any kind (sampling: replace the value). false = queue full under `reject`. */
  send(from: Endpoint, name: string, message: Uint8Array): boolean {
    return this.require(name).send(from, message);
  }

  /** Take the oldest message of a queuing channel. */
  receive(to: Endpoint, name: string): Uint8Array | undefined {
    const c = this.require(name);
    if (c.kind !== 'queuing') throw new RvisorError(CHANNEL_WRONG_KIND, `channel ${name} is a sampling channel: use read()`);
    return c.receive(to);
  }

  /** The latest value of a sampling channel. */
  read(to: Endpoint, name: string): Sample | undefined {
    const c = this.require(name);
    if (c.kind !== 'sampling') throw new RvisorError(CHANNEL_WRONG_KIND, `channel ${name} is a queuing channel: use receive()`);
    return c.read(to);
  }

  private require(name: string): Channel {
    const c = this.channels.get(name);
    if (c === undefined) throw new RvisorError(CHANNEL_UNKNOWN, `channel ${String(name)} does not exist`);
    return c;
  }
}

/** Check a configuration without creating anything. */
export function validateChannel(config: ChannelConfig, known: ReadonlySet<string>): void {
  const name = config.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new ConfigError(CHANNEL_BAD_NAME, `channel name ${JSON.stringify(name)} must match ${NAME_PATTERN.source}`);
  }
  const where = `channel ${name}`;
  if (config.kind !== 'sampling' && config.kind !== 'queuing') {
    throw new ConfigError(CHANNEL_BAD_KIND, `${where}: kind ${JSON.stringify(config.kind)} is neither "sampling" nor "queuing"`);
  }
  if (!Number.isInteger(config.maxMessageSize) || config.maxMessageSize < 1 || config.maxMessageSize > MAX_MESSAGE_SIZE) {
    throw new ConfigError(CHANNEL_BAD_SIZE, `${where}: maximum message size ${String(config.maxMessageSize)} is not in 1..${MAX_MESSAGE_SIZE}`);
  }
  if (config.kind === 'queuing') {
    if (!Number.isInteger(config.depth) || config.depth! < 1 || config.depth! > MAX_QUEUE_DEPTH) {
      throw new ConfigError(CHANNEL_BAD_DEPTH, `${where}: depth ${String(config.depth)} is not in 1..${MAX_QUEUE_DEPTH}`);
    }
    const o = config.overflow ?? 'reject';
    if (o !== 'reject' && o !== 'drop-oldest') {
      throw new ConfigError(CHANNEL_BAD_POLICY, `${where}: overflow policy ${JSON.stringify(o)} is neither "reject" nor "drop-oldest"`);
    }
  } else {
    const p = config.refreshPeriod ?? Infinity;
    if (typeof p !== 'number' || !(p > 0)) {
      throw new ConfigError(CHANNEL_BAD_PERIOD, `${where}: refresh period ${String(p)} is not a positive number`);
    }
  }
  for (const [list, role] of [[config.senders, 'sender'], [config.receivers, 'receiver']] as const) {
    if (!Array.isArray(list) || list.length === 0) throw new ConfigError(CHANNEL_BAD_ENDPOINTS, `${where} has no ${role}`);
    const seen = new Set<string>();
    for (const e of list) {
      if (seen.has(e)) throw new ConfigError(CHANNEL_BAD_ENDPOINTS, `${where} lists ${role} ${e} twice`);
      seen.add(e);
      if (e !== HOST && !known.has(e)) throw new ConfigError(CHANNEL_UNKNOWN_PARTITION, `${where}: ${role} ${String(e)} is not a known partition`);
    }
  }
  if (config.kind === 'queuing' && config.receivers.length !== 1) {
    throw new ConfigError(CHANNEL_BAD_ENDPOINTS, `${where}: a queuing channel has exactly one receiver, not ${config.receivers.length}`);
  }
}
