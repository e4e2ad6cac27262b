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

export interface SamplingPortOptions {
  maxMessageSize: number;
  /** Validity period in clock units; Infinity (default) = always valid once written. */
  refreshPeriod?: number;
  clock: { now(): number };
  name?: string;
}

export interface Sample {
  readonly data: Uint8Array;
  /** Clock time since the value was written. */
  readonly age: number;
  /** age <= refreshPeriod. */
  readonly valid: boolean;
  /** Number of writes so far, so a reader can tell a new value from a repeated one. */
  readonly seq: number;
}

export interface SamplingStats {
  writes: number;
  reads: number;
  /** Reads that found a value older than the refresh period. */
  stale: number;
}

/** A sampling port's value for snapshots: the age travels, not the host's clock reading. */
export interface SavedSample {
  data: Uint8Array;
  age: number;
  seq: number;
}

export class SamplingPort {
  readonly name: string;
  readonly maxMessageSize: number;
  readonly refreshPeriod: number;
  private readonly clock: { now(): number };
  private value: Uint8Array | undefined;
  private writtenAt = 0;
  private seq = 0;
  private readonly st: SamplingStats = { writes: 0, reads: 0, stale: 0 };

  constructor(options: SamplingPortOptions) {
    this.name = options.name ?? 'sample';
    this.maxMessageSize = options.maxMessageSize;
    this.refreshPeriod = options.refreshPeriod ?? Infinity;
    this.clock = options.clock;
  }

  get stats(): Readonly<SamplingStats> {
    return { ...this.st };
  }

  /** True once a value has been written. */
  get hasValue(): boolean {
    return this.value !== undefined;
  }

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

  clear(): void {
    this.value = undefined;
  }

  save(): SavedSample | undefined {
    const v = this.value;
    return v === undefined ? undefined : { data: v.slice(), age: this.clock.now() - this.writtenAt, seq: this.seq };
  }

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
