/**
 * rvisor's own hypercalls (a7 >= 0x400), served for partitions of a
 * Hypervisor. Numbers and return conventions are the contract of
 * packages/guest/include/rvisor.h; errors are negative Linux errno values.
 * Guest buffers must lie in the partition's own RAM (not in shared windows):
 * a pointer outside it gets -EFAULT, never a host exception.
 */
import type { ChannelRegistry } from '../partition/channel.ts';
import { EAGAIN, EFAULT, EINVAL, EMSGSIZE, ENOENT, ETIMEDOUT } from '../vm/errno.ts';
import type { HypercallResult, VirtualMachine } from '../vm/vm.ts';
import type { Partition } from './partition.ts';

/** Hypercall `() -> id`: the calling partition's numeric id. */
export const HC_PARTITION_ID = 0x400;
/** Hypercall `() -> 0`: end the partition's current window early; it resumes in its next window. */
export const HC_YIELD = 0x401;
/** Hypercall `() -> condition`: why the current run began, one of the `START_*` values of `@rvisor/core/partition`. */
export const HC_START_CONDITION = 0x402;
/**
 * Hypercall `(channel, buf, len) -> 0`: send on a queuing channel; -EAGAIN when full, -EMSGSIZE when too long,
 * -ENOENT when not a sender, -EINVAL on a sampling channel.
 */
export const HC_CHAN_SEND = 0x410;
/**
 * Hypercall `(channel, buf, cap, timeout_us) -> length`: receive from a queuing channel, blocking the partition up to
 * `timeout_us` (0 polls, 0xFFFFFFFF waits forever); -ETIMEDOUT or -EMSGSIZE on failure.
 */
export const HC_CHAN_RECV = 0x411;
/**
 * Hypercall `(channel, buf, cap) -> length`: copy a sampling channel's latest value (0 when none yet), with a1 = 1
 * when fresh and 0 when stale; never blocks.
 */
export const HC_CHAN_READ_SAMPLE = 0x412;
/** Hypercall `(channel, buf, len) -> 0`: replace a sampling channel's value; errors as {@link HC_CHAN_SEND}. */
export const HC_CHAN_WRITE_SAMPLE = 0x413;
/**
 * Hypercall `(topic, topic_len, buf, len) -> 0`: publish `buf` on the partition's telemetry stream under `topic`;
 * -EINVAL when a length is out of range.
 */
export const HC_TELEMETRY = 0x420;


/** mtime ticks per microsecond (10 MHz). */
const TICKS_PER_US = 10;
const WAIT_FOREVER = 0xffff_ffff;
/** Longest telemetry topic a guest may pass, in bytes of UTF-8. */
export const MAX_TELEMETRY_TOPIC = 64;
/** Largest telemetry payload a guest may pass, in bytes. */
export const MAX_TELEMETRY_PAYLOAD = 4096;

export interface HypercallHost {
  readonly channels: ChannelRegistry;
  /** Channel name for the number a guest passes, or undefined. */
  channelName(id: number): string | undefined;
  telemetry(partition: Partition, topic: string, payload: Uint8Array): void;
}

const utf8 = /* @__PURE__ */ new TextDecoder();

export function installHypercalls(p: Partition, vm: VirtualMachine, host: HypercallHost): void {
  const x = vm.hart.x;
  const bus = vm.bus;
  const guest = (addr: number, len: number): Uint8Array | undefined => {
    addr >>>= 0;
    if (len < 0 || !bus.inRam(addr, len)) return undefined;
    const off = addr - bus.ramBase;
    return bus.ram.subarray(off, off + len);
  };
  const channel = (id: number, mustSend: boolean): string | undefined => {
    const name = host.channelName(id);
    if (name === undefined) return undefined;
    const ch = host.channels.get(name);
    if (ch === undefined) return undefined;
    return (mustSend ? ch.canSend(p.name) : ch.canReceive(p.name)) ? name : undefined;
  };
  const hc = vm.hypercalls;

  hc.set(HC_PARTITION_ID, () => p.id);
  hc.set(HC_YIELD, () => ({ a0: 0, stop: 'yield' }));
  hc.set(HC_START_CONDITION, () => p.lifecycle.startCondition);

  const send = (sampling: boolean): HypercallResult => {
    const name = channel(x[10]!, true);
    if (name === undefined) return -ENOENT;
    const ch = host.channels.get(name)!;
    if ((ch.kind === 'sampling') !== sampling) return -EINVAL;
    const len = x[12]! >>> 0;
    if (len > ch.maxMessageSize) return -EMSGSIZE;
    const bytes = guest(x[11]!, len);
    if (bytes === undefined) return -EFAULT;
    return host.channels.send(p.name, name, bytes) ? 0 : -EAGAIN;
  };
  hc.set(HC_CHAN_SEND, () => send(false));
  hc.set(HC_CHAN_WRITE_SAMPLE, () => send(true));

  hc.set(HC_CHAN_RECV, (): HypercallResult => {
    const name = channel(x[10]!, false);
    if (name === undefined) return -ENOENT;
    const ch = host.channels.get(name)!;
    if (ch.kind !== 'queuing') return -EINVAL;
    const cap = x[12]! >>> 0;
    const buf = guest(x[11]!, cap);
    if (buf === undefined) return -EFAULT;
    const size = ch.peekSize(p.name);
    if (size >= 0) {
      if (size > cap) {
        p.recvDeadline = undefined;
        return -EMSGSIZE;
      }
      const msg = host.channels.receive(p.name, name)!;
      buf.set(msg);
      p.recvDeadline = undefined;
      return msg.length;
    }
    const now = vm.hart.mtime;
    if (p.recvDeadline === undefined) {
      const timeout = x[13]! >>> 0;
      if (timeout === 0) return -ETIMEDOUT;
      p.recvDeadline = timeout === WAIT_FOREVER ? Infinity : now + timeout * TICKS_PER_US;
    }
    if (now >= p.recvDeadline) {
      p.recvDeadline = undefined;
      return -ETIMEDOUT;
    }
    // Retried at the partition's next window; the CPU goes back meanwhile.
    return { stop: 'block' };
  });

  hc.set(HC_CHAN_READ_SAMPLE, (): HypercallResult => {
    const name = channel(x[10]!, false);
    if (name === undefined) return -ENOENT;
    if (host.channels.get(name)!.kind !== 'sampling') return -EINVAL;
    const cap = x[12]! >>> 0;
    const buf = guest(x[11]!, cap);
    if (buf === undefined) return -EFAULT;
    const sample = host.channels.read(p.name, name);
    if (sample === undefined) return 0;
    if (sample.data.length > cap) return -EMSGSIZE;
    buf.set(sample.data);
    // Second return register: 1 = fresh (within its refresh period), 0 = stale.
    x[11] = sample.valid ? 1 : 0;
    return sample.data.length;
  });

  hc.set(HC_TELEMETRY, (): HypercallResult => {
    const topicLen = x[11]! >>> 0;
    const len = x[13]! >>> 0;
    if (topicLen === 0 || topicLen > MAX_TELEMETRY_TOPIC || len > MAX_TELEMETRY_PAYLOAD) return -EINVAL;
    const topic = guest(x[10]!, topicLen);
    const payload = guest(x[12]!, len);
    if (topic === undefined || payload === undefined) return -EFAULT;
    host.telemetry(p, utf8.decode(topic), payload.slice());
    return 0;
  });
}
