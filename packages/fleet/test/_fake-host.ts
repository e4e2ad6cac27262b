import { createHash } from 'node:crypto';
import { decode, encode } from 'cbor-x';
import type { DeploySpec, GatewayHost, HostEvent, PartitionReport, PartitionState, SchedulePlan } from '../src/host.ts';
import { FLEET_BAD_STATE, FLEET_EXISTS, FLEET_NO_ROOM, FLEET_NOT_FOUND, fleetError } from '../src/protocol/errors.ts';

interface Part {
  name: string;
  state: PartitionState;
  image: Uint8Array;
  digest: string;
  ramSize: number;
  instructions: number;
  spec: Omit<DeploySpec, 'image' | 'name'>;
}

type Method = 'deploy' | 'start' | 'pause' | 'resume' | 'stop' | 'destroy' | 'snapshot' | 'restore' | 'updateSchedule';

/**
 * In-memory GatewayHost with the same all-or-nothing contract as the real
 * one: every check happens before any mutation. `calls` counts applied
 * operations (for "applied once"), `failNext` makes the next call of a method
 * fail, `delayMs` slows every operation down (deadline tests).
 */
export class FakeHost implements GatewayHost {
  readonly parts = new Map<string, Part>();
  readonly calls: Record<string, number> = {};
  readonly listeners = new Set<(e: HostEvent) => void>();
  readonly failures = new Map<Method, string>();
  plan: SchedulePlan | undefined;
  delayMs = 0;
  /** Extra bytes in each snapshot document, to exercise chunked transfers. */
  snapshotPad = 0;

  constructor(readonly poolBytes = 1 << 24, readonly maxPartitions = 8) {}

  capabilities() {
    let used = 0;
    for (const p of this.parts.values()) used += p.ramSize;
    return { poolBytes: this.poolBytes, poolFreeBytes: this.poolBytes - used, maxPartitions: this.maxPartitions, schedules: ['instructions'], runtime: `node ${process.versions.node}`, isa: ['rv32imac', 'rv32ima'] };
  }

  partitions(): PartitionReport[] {
    return [...this.parts.values()].map((p) => ({ name: p.name, state: p.state, ramSize: p.ramSize, instructions: p.instructions, image: p.digest }));
  }

  failNext(method: Method, code = 'FAKE_REFUSED'): void {
    this.failures.set(method, code);
  }

  onEvent(listener: (e: HostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: HostEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Running partitions retire `n` instructions each. */
  tick(n: number): void {
    for (const p of this.parts.values()) if (p.state === 'running') p.instructions += n;
  }

  async #enter(method: Method): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const code = this.failures.get(method);
    if (code !== undefined) {
      this.failures.delete(method);
      throw fleetError(code, `fake host refuses ${method} (injected)`);
    }
  }

  #applied(method: Method): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  #get(name: string): Part {
    const p = this.parts.get(name);
    if (!p) throw fleetError(FLEET_NOT_FOUND, `partition ${name} does not exist`);
    return p;
  }

  #set(p: Part, state: PartitionState): void {
    p.state = state;
    this.emit({ type: 'state', name: p.name, state });
  }

  #transition(name: string, from: PartitionState[], to: PartitionState, method: Method): void {
    const p = this.#get(name);
    if (!from.includes(p.state)) throw fleetError(FLEET_BAD_STATE, `partition ${name} is ${p.state}, cannot ${method}`);
    this.#applied(method);
    this.#set(p, to);
  }

  #admit(name: string, ramSize: number, replacing?: Part): void {
    const free = this.capabilities().poolFreeBytes + (replacing?.ramSize ?? 0);
    if (ramSize > free) throw fleetError(FLEET_NO_ROOM, `partition ${name} needs ${ramSize} bytes, pool has ${free} free`);
    if (!replacing && this.parts.size >= this.maxPartitions) throw fleetError(FLEET_NO_ROOM, `gateway already hosts ${this.maxPartitions} partitions`);
  }

  async deploy(spec: DeploySpec): Promise<void> {
    await this.#enter('deploy');
    if (this.parts.has(spec.name)) throw fleetError(FLEET_EXISTS, `partition ${spec.name} exists`);
    this.#admit(spec.name, spec.ramSize);
    const { name, image, ...rest } = spec;
    this.#applied('deploy');
    const p: Part = { name, image: image.slice(), digest: createHash('sha256').update(image).digest('hex'), ramSize: spec.ramSize, instructions: 0, spec: rest, state: 'created' };
    this.parts.set(name, p);
    this.emit({ type: 'state', name, state: 'created' });
  }

  async start(name: string) { await this.#enter('start'); this.#transition(name, ['created', 'stopped'], 'running', 'start'); }
  async pause(name: string) { await this.#enter('pause'); this.#transition(name, ['running'], 'paused', 'pause'); }
  async resume(name: string) { await this.#enter('resume'); this.#transition(name, ['paused'], 'running', 'resume'); }
  async stop(name: string) { await this.#enter('stop'); this.#transition(name, ['created', 'running', 'paused', 'faulted'], 'stopped', 'stop'); }

  async destroy(name: string): Promise<void> {
    await this.#enter('destroy');
    this.#get(name);
    this.#applied('destroy');
    this.parts.delete(name);
    this.emit({ type: 'state', name, state: 'destroyed' });
  }

  async snapshot(name: string): Promise<Uint8Array> {
    await this.#enter('snapshot');
    const p = this.#get(name);
    if (p.state === 'running') throw fleetError(FLEET_BAD_STATE, `partition ${name} is running; pause it before a snapshot`);
    this.#applied('snapshot');
    return encode({ v: 1, image: p.image, ramSize: p.ramSize, instructions: p.instructions, spec: p.spec, pad: new Uint8Array(this.snapshotPad).fill(0xa5) });
  }

  async restore(name: string, doc: Uint8Array): Promise<void> {
    await this.#enter('restore');
    const old = this.parts.get(name);
    if (old?.state === 'running') throw fleetError(FLEET_BAD_STATE, `partition ${name} is running; cannot restore over it`);
    let d: { v: number; image: Uint8Array; ramSize: number; instructions: number; spec: Part['spec'] };
    try {
      d = decode(doc);
    } catch (err) {
      throw fleetError('SNAPSHOT_CORRUPT', `snapshot for ${name} is not CBOR`, undefined, err);
    }
    if (d?.v !== 1 || !(d.image instanceof Uint8Array)) throw fleetError('SNAPSHOT_CORRUPT', `snapshot for ${name} has no version 1 image`);
    this.#admit(name, d.ramSize, old);
    this.#applied('restore');
    const p: Part = { name, image: d.image, digest: createHash('sha256').update(d.image).digest('hex'), ramSize: d.ramSize, instructions: d.instructions, spec: d.spec, state: 'paused' };
    this.parts.set(name, p);
    this.emit({ type: 'state', name, state: 'paused' });
  }

  async updateSchedule(plan: SchedulePlan): Promise<void> {
    await this.#enter('updateSchedule');
    for (const w of plan.windows) {
      if (!this.parts.has(w.partition)) throw fleetError('SCHEDULE_UNKNOWN_PARTITION', `window names unknown partition ${w.partition}`);
      if (w.offset + w.duration > plan.majorFrame) throw fleetError('SCHEDULE_OUTSIDE_FRAME', `window of ${w.partition} ends after the major frame`);
    }
    this.#applied('updateSchedule');
    this.plan = plan;
  }
}
