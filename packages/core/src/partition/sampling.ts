/**
 * A sampling port: holds only the latest message (ARINC 653 sampling port).
 * A write replaces the value; reads do not consume it. Every value carries
 * its age, and is valid while the age is at most the refresh period, so a
 * reader can tell a live sensor from one that stopped writing.
 *
 * Values are copied on write and on read: several readers share the stored
 * value, none may change it for the others.
 */

import { RvisorError } from '../errors.ts';
import { CHANNEL_BAD_STATE, CHANNEL_MESSAGE_TOO_LARGE } from './queuing.ts';

/** Options for {@link SamplingPort}'s constructor. */
export interface SamplingPortOptions {
  /** Largest accepted value, in bytes. */
  maxMessageSize: number;
  /** Validity period in clock units; Infinity (default) = always valid once written. */
  refreshPeriod?: number;
  /** Time source for ages; `now()` in the same units as `refreshPeriod` (the hypervisor uses milliseconds). */
  clock: {
    /** Current time, in the units of `refreshPeriod`. */
    now(): number;
  };
  /** Name used in error messages. Default `sample`. */
  name?: string;
}

/** A sampling port's latest value as one reader sees it. */
export interface Sample {
  /** A copy of the value. */
  readonly data: Uint8Array;
  /** Clock time since the value was written. */
  readonly age: number;
  /** age <= refreshPeriod. */
  readonly valid: boolean;
  /** Number of writes so far, so a reader can tell a new value from a repeated one. */
  readonly seq: number;
}

/** Counters of a sampling port since it was created. */
export interface SamplingStats {
  /** Values written. */
  writes: number;
  /** Reads that found a value. */
  reads: number;
  /** Reads that found a value older than the refresh period. */
  stale: number;
}

/** A sampling port's value for snapshots: the age travels, not the host's clock reading. */
export interface SavedSample {
  /** The value. */
  data: Uint8Array;
  /** Age of the value when saved, in clock units. */
  age: number;
  /** Write count when saved. */
  seq: number;
}

/**
 * A port holding only the latest value (ARINC 653 sampling port); reads do not consume it and report its age and
 * validity.
 */
export class SamplingPort {
  /** Name used in error messages. */
  readonly name: string;
  /** Largest accepted value, in bytes. */
  readonly maxMessageSize: number;
  /** Age in clock units up to which a value is valid; `Infinity` when values never go stale. */
  readonly refreshPeriod: number;
  private readonly clock: { now(): number };
  private value: Uint8Array | undefined;
  private writtenAt = 0;
  private seq = 0;
  private readonly st: SamplingStats = { writes: 0, reads: 0, stale: 0 };

  /** Create an empty port. The options are not validated here; {@link ChannelRegistry} checks them. */
  constructor(options: SamplingPortOptions) {
    this.name = options.name ?? 'sample';
    this.maxMessageSize = options.maxMessageSize;
    this.refreshPeriod = options.refreshPeriod ?? Infinity;
    this.clock = options.clock;
  }

  /** A copy of the port's counters. */
  get stats(): Readonly<SamplingStats> {
    return { ...this.st };
  }

  /** True once a value has been written. */
  get hasValue(): boolean {
    return this.value !== undefined;
  }

  /**
   * Replace the value with a copy of `message`, stamped with the current clock time.
   * @throws RvisorError `CHANNEL_MESSAGE_TOO_LARGE` when `message` exceeds `maxMessageSize`.
   */
  write(message: Uint8Array): void {
    if (message.length > this.maxMessageSize) {
      throw new RvisorError(CHANNEL_MESSAGE_TOO_LARGE, `message of ${message.length} bytes exceeds channel ${this.name}'s maximum of ${this.maxMessageSize}`);
    }
    this.value = message.slice();
    this.writtenAt = this.clock.now();
    this.seq++;
    this.st.writes++;
  }

  /** The latest value (a copy) with its age; undefined if never written. */
  read(): Sample | undefined {
    const v = this.value;
    if (v === undefined) return undefined;
    const age = this.clock.now() - this.writtenAt;
    const valid = age <= this.refreshPeriod;
    this.st.reads++;
    if (!valid) this.st.stale++;
    return { data: v.slice(), age, valid, seq: this.seq };
  }

  /** Forget the value, so reads return undefined until the next write (counters are kept). */
  clear(): void {
    this.value = undefined;
  }

  /**
   * The value with its age for a snapshot (the age, not the host clock reading, travels); undefined if never written.
   */
  save(): SavedSample | undefined {
    const v = this.value;
    return v === undefined ? undefined : { data: v.slice(), age: this.clock.now() - this.writtenAt, seq: this.seq };
  }

  /**
   * Restore a value saved by {@link SamplingPort.save} (undefined clears the port), keeping its age.
   * @throws RvisorError `CHANNEL_BAD_STATE` when the saved value is larger than `maxMessageSize` or its age is
   * negative.
   */
  load(saved: SavedSample | undefined): void {
    if (saved === undefined) {
      this.value = undefined;
      return;
    }
    if (saved.data.length > this.maxMessageSize || !(saved.age >= 0)) {
      throw new RvisorError(CHANNEL_BAD_STATE, `saved sample of ${saved.data.length} bytes, age ${saved.age} does not fit channel ${this.name}`);
    }
    this.value = saved.data.slice();
    this.writtenAt = this.clock.now() - saved.age;
    this.seq = saved.seq;
  }
}
