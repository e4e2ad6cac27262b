/**
 * A queuing port: a bounded FIFO of messages (ARINC 653 queuing port).
 *
 * Overflow policy, chosen per port:
 * - `reject` (default): a send to a full queue is refused, send() returns
 *   false and `rejected` counts it. The sender learns at once and the
 *   messages already queued (older, so usually causally first) survive.
 * - `drop-oldest`: the oldest message is discarded to make room, `dropped`
 *   counts it; for telemetry-like streams where the newest value matters.
 *
 * Messages are copied on send, so the sender may reuse its buffer and the
 * receiver owns what it gets.
 */

import { RvisorError } from '../errors.ts';

/** A message longer than the port's maximum. */
export const CHANNEL_MESSAGE_TOO_LARGE = 'CHANNEL_MESSAGE_TOO_LARGE';

/** Saved port contents that do not fit the port (load()). */
export const CHANNEL_BAD_STATE = 'CHANNEL_BAD_STATE';

/** What a send to a full queue does: `reject` refuses the new message, `drop-oldest` discards the oldest queued one. */
export type OverflowPolicy = 'reject' | 'drop-oldest';

/** Options for {@link QueuingPort}'s constructor. */
export interface QueuingPortOptions {
  /** Maximum number of queued messages (a positive integer). */
  depth: number;
  /** Largest accepted message, in bytes. */
  maxMessageSize: number;
  /** Policy for a send to a full queue. Default `reject`. */
  overflow?: OverflowPolicy;
  /** Used in error messages. */
  name?: string;
}

/** Message counters of a queuing port since it was created. */
export interface QueuingStats {
  /** Messages accepted by `send()`. */
  sent: number;
  /** Messages taken by `receive()`. */
  received: number;
  /** Sends refused because the queue was full (`reject` policy). */
  rejected: number;
  /** Queued messages discarded to make room (`drop-oldest` policy). */
  dropped: number;
}

/** A bounded FIFO of byte messages (ARINC 653 queuing port) with a per-port overflow policy. */
export class QueuingPort {
  /** Name used in error messages. */
  readonly name: string;
  /** Maximum number of queued messages. */
  readonly depth: number;
  /** Largest accepted message, in bytes. */
  readonly maxMessageSize: number;
  /** What a send to a full queue does. */
  readonly overflow: OverflowPolicy;
  private readonly slots: Array<Uint8Array | undefined>;
  private head = 0;
  private count = 0;
  private readonly st: QueuingStats = { sent: 0, received: 0, rejected: 0, dropped: 0 };

  /** Create an empty port. The options are not validated here; {@link ChannelRegistry} checks them. */
  constructor(options: QueuingPortOptions) {
    this.name = options.name ?? 'queue';
    this.depth = options.depth;
    this.maxMessageSize = options.maxMessageSize;
    this.overflow = options.overflow ?? 'reject';
    this.slots = new Array<Uint8Array | undefined>(options.depth).fill(undefined);
  }

  /** Number of messages currently queued. */
  get length(): number {
    return this.count;
  }

  /** A copy of the port's counters. */
  get stats(): Readonly<QueuingStats> {
    return { ...this.st };
  }

  /** Queue a copy of `message`; false when the queue is full and the policy is `reject`. */
  send(message: Uint8Array): boolean {
    if (message.length > this.maxMessageSize) {
      throw new RvisorError(CHANNEL_MESSAGE_TOO_LARGE, `message of ${message.length} bytes exceeds channel ${this.name}'s maximum of ${this.maxMessageSize}`);
    }
    if (this.count === this.depth) {
      if (this.overflow === 'reject') {
        this.st.rejected++;
        return false;
      }
      this.slots[this.head] = undefined;
      this.head = (this.head + 1) % this.depth;
      this.count--;
      this.st.dropped++;
    }
    this.slots[(this.head + this.count) % this.depth] = message.slice();
    this.count++;
    this.st.sent++;
    return true;
  }

  /** The oldest message, removed from the queue; undefined when empty. */
  receive(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const m = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.depth;
    this.count--;
    this.st.received++;
    return m;
  }

  /** Size of the oldest message, or -1 when empty (to size a guest buffer first). */
  peekSize(): number {
    return this.count === 0 ? -1 : this.slots[this.head]!.length;
  }

  /** Discard every queued message (counters are kept). */
  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
  }

  /** Copies of the queued messages, oldest first (snapshots). */
  messages(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.slots[(this.head + i) % this.depth]!.slice());
    return out;
  }

  /** Replace the contents with `messages` (oldest first), as saved by messages(). */
  load(messages: ReadonlyArray<Uint8Array>): void {
    if (messages.length > this.depth) {
      throw new RvisorError(CHANNEL_BAD_STATE, `${messages.length} saved messages exceed channel ${this.name}'s depth of ${this.depth}`);
    }
    for (const m of messages) {
      if (m.length > this.maxMessageSize) {
        throw new RvisorError(CHANNEL_BAD_STATE, `saved message of ${m.length} bytes exceeds channel ${this.name}'s maximum of ${this.maxMessageSize}`);
      }
    }
    this.clear();
    for (let i = 0; i < messages.length; i++) this.slots[i] = messages[i]!.slice();
    this.count = messages.length;
  }
}
