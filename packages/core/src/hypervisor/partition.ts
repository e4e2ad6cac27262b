/**
 * One partition as the hypervisor keeps it: the virtual machine, its
 * lifecycle, its memory and its counters. Operations go through the
 * Hypervisor, which owns the policies (health, schedule, channels); this
 * handle exposes them for convenience.
 */
import type { Isa } from '../cpu/hart.ts';
import type { PartitionMemory, WindowGrant } from '../memory/partitioner.ts';
import type { HealthPolicy } from '../partition/health.ts';
import type { FaultInfo, Lifecycle, PartitionState } from '../partition/lifecycle.ts';
import type { Profile, VirtualMachine } from '../vm/vm.ts';

export interface PartitionConfig {
  /** Unique name: letters, digits, `_ . -`, at most 64 characters. */
  name: string;
  /** ELF32 RISC-V executable (or flat binary with `entry`). */
  image: Uint8Array;
  /** Default 'app'. */
  profile?: Profile;
  /** Default 'rv32imac'. */
  isa?: Isa;
  /** Bytes of RAM taken from the pool; a multiple of 4 KiB. Default 1 MiB. */
  ramSize?: number;
  entry?: number;
  loadAddress?: number;
  argv?: string[];
  env?: string[];
  stackSize?: number;
  /** Bytes served to read(0, ...). */
  stdin?: Uint8Array;
  /** Overrides of the hypervisor's health policy for this partition. */
  health?: HealthPolicy;
}

export interface PartitionStats {
  /** Instructions retired since creation (restarts included). */
  instructions: number;
  /** Windows in which the partition ran. */
  windows: number;
  /** Windows that ended by preemption: the guest still wanted the CPU. */
  overruns: number;
  /** Window time the partition gave back (time-base units). */
  idle: number;
  faults: number;
  restarts: number;
  /** Bytes of pool memory the partition owns (its RAM span). */
  memory: number;
  consoleBytes: number;
  /** Console bytes dropped by the flood limit. */
  consoleDropped: number;
}

export interface PartitionControl {
  start(name: string): void;
  pause(name: string): void;
  resume(name: string): void;
  stop(name: string): void;
  restart(name: string): void;
}

export class Partition {
  readonly name: string;
  /** Small integer returned to the guest by RV_HC_PARTITION_ID. */
  readonly id: number;
  readonly config: Readonly<PartitionConfig>;
  readonly memory: PartitionMemory;
  readonly grants: ReadonlyArray<WindowGrant>;
  readonly lifecycle: Lifecycle;
  readonly stats: PartitionStats;
  /** @internal the hypervisor replaces the VM on restore. */
  vm: VirtualMachine;
  /** @internal console bytes in the current major frame (flood detection). */
  frameConsole = 0;
  /** @internal pending blocking receive: absolute deadline in mtime ticks (Infinity = forever). */
  recvDeadline: number | undefined = undefined;
  private readonly control: PartitionControl;

  /** @internal */
  constructor(
    id: number,
    config: PartitionConfig,
    memory: PartitionMemory,
    grants: ReadonlyArray<WindowGrant>,
    vm: VirtualMachine,
    lifecycle: Lifecycle,
    control: PartitionControl,
  ) {
    this.id = id;
    this.name = config.name;
    this.config = Object.freeze({ ...config });
    this.memory = memory;
    this.grants = grants;
    this.vm = vm;
    this.lifecycle = lifecycle;
    this.control = control;
    this.stats = {
      instructions: 0,
      windows: 0,
      overruns: 0,
      idle: 0,
      faults: 0,
      restarts: 0,
      memory: memory.region.span,
      consoleBytes: 0,
      consoleDropped: 0,
    };
  }

  get state(): PartitionState {
    return this.lifecycle.state;
  }

  /** The fault while `faulted`. */
  get fault(): FaultInfo | undefined {
    return this.lifecycle.fault;
  }

  /** Exit code once the guest has exited. */
  get exitCode(): number | undefined {
    return this.vm.exitCode;
  }

  start(): void {
    this.control.start(this.name);
  }
  pause(): void {
    this.control.pause(this.name);
  }
  resume(): void {
    this.control.resume(this.name);
  }
  stop(): void {
    this.control.stop(this.name);
  }
  restart(): void {
    this.control.restart(this.name);
  }
}
