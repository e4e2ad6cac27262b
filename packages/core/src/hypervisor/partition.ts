/**
 * One partition as the hypervisor keeps it: the virtual machine, its
 * lifecycle, its memory and its counters. Operations go through the
 * Hypervisor, which owns the policies (health, schedule, channels); this
 * handle exposes them for convenience.
 */
import type { Isa } from '../cpu/hart.ts';
import type { PartitionMemory, WindowGrant } from '../memory/partitioner.ts';
import type { HealthHandle, HealthPolicy } from '../partition/health.ts';
import type { FaultInfo, Lifecycle, PartitionState } from '../partition/lifecycle.ts';
import type { Profile, VirtualMachine } from '../vm/vm.ts';

/** Everything needed to create a partition with {@link Hypervisor.createPartition}. */
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
  /** Flat binaries: entry address (required for them). Ignored for an ELF image. */
  entry?: number;
  /** Flat binaries: guest address of the image's first byte. Default: `entry`. */
  loadAddress?: number;
  /** App profile: argument strings for the initial stack. Default `['guest']`. */
  argv?: string[];
  /** App profile: environment strings (`NAME=value`) for the initial stack. */
  env?: string[];
  /**
   * App profile: bytes reserved for the stack at the top of RAM, a multiple of 4 KiB. Default min(1 MiB, ramSize /
   * 4).
   */
  stackSize?: number;
  /** Bytes served to read(0, ...). */
  stdin?: Uint8Array;
  /** Overrides of the hypervisor's health policy for this partition. */
  health?: HealthPolicy;
  /** Compile hot guest code (cpu/jit); default: the hypervisor's `compile` option. */
  compile?: boolean;
}

/** Counters of one partition, kept by the hypervisor; see {@link Partition.stats}. */
export interface PartitionStats {
  /** Instructions retired since creation (restarts included). */
  instructions: number;
  /** Windows in which the partition ran. */
  windows: number;
  /** Windows that ended by preemption: the guest still wanted the CPU. */
  overruns: number;
  /** Window time the partition gave back (time-base units). */
  idle: number;
  /** Unhandled guest faults. */
  faults: number;
  /** Restarts of any kind (operator, health monitor, restore from checkpoint). */
  restarts: number;
  /** Bytes of pool memory the partition owns (its RAM span). */
  memory: number;
  /** Console bytes the guest wrote (including dropped ones). */
  consoleBytes: number;
  /** Console bytes dropped by the flood limit. */
  consoleDropped: number;
}

export interface PartitionControl {
  /** See {@link Hypervisor.start}. */
  start(name: string): void;
  /** See {@link Hypervisor.pause}. */
  pause(name: string): void;
  /** See {@link Hypervisor.resume}. */
  resume(name: string): void;
  /** See {@link Hypervisor.stop}. */
  stop(name: string): void;
  /** See {@link Hypervisor.restart}. */
  restart(name: string): void;
}

/**
 * A handle on one partition of a {@link Hypervisor}: its VM, lifecycle, memory and counters. Created by
 * {@link Hypervisor.createPartition}; its control methods delegate to the hypervisor.
 */
export class Partition {
  /** Unique name of the partition within its hypervisor. */
  readonly name: string;
  /** Small integer returned to the guest by RV_HC_PARTITION_ID. */
  readonly id: number;
  /** The configuration it was created with (frozen). */
  readonly config: Readonly<PartitionConfig>;
  /** Its RAM region in the pool and guest placement. */
  readonly memory: PartitionMemory;
  /** The shared windows it maps. */
  readonly grants: ReadonlyArray<WindowGrant>;
  /** Its lifecycle state machine. */
  readonly lifecycle: Lifecycle;
  /** Live counters, updated in place by the hypervisor. */
  readonly stats: PartitionStats;
  /** @internal the hypervisor replaces the VM on restore. */
  vm: VirtualMachine;
  /** @internal console bytes in the current major frame (flood detection). */
  frameConsole = 0;
  /** @internal the frame `frameConsole` counts (framesDone when it was last reset). */
  consoleFrame = -1;
  /** @internal the health monitor's record of it, looked up once (overruns are tallied every window). */
  healthHandle: HealthHandle | undefined = undefined;
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

  /** Current lifecycle state. */
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

  /** Same as {@link Hypervisor.start} for this partition. */
  start(): void {
    this.control.start(this.name);
  }
  /** Same as {@link Hypervisor.pause} for this partition. */
  pause(): void {
    this.control.pause(this.name);
  }
  /** Same as {@link Hypervisor.resume} for this partition. */
  resume(): void {
    this.control.resume(this.name);
  }
  /** Same as {@link Hypervisor.stop} for this partition. */
  stop(): void {
    this.control.stop(this.name);
  }
  /** Same as {@link Hypervisor.restart} for this partition. */
  restart(): void {
    this.control.restart(this.name);
  }
}
