/**
 * `@rvisor/core`: the embeddable RISC-V micro-hypervisor. This entry point
 * re-exports the everyday API; each area also has its own sub-path
 * (`@rvisor/core/cpu`, `/memory`, `/vm`, `/hypervisor`, `/schedule`,
 * `/partition`, `/snapshot`, ...) so an embedder bundles only what it uses.
 *
 * @module @rvisor/core
 */
export { ConfigError, ElfError, FleetError, PartitionError, RvisorError, SnapshotError } from './errors.ts';
export { Hypervisor, Partition } from './hypervisor/index.ts';
export type {
  ConsoleEvent,
  FrameReport,
  HypervisorEvents,
  HypervisorOptions,
  HypervisorStats,
  PartitionConfig,
  PartitionStats,
  RestoreOptions,
  TelemetryEvent,
} from './hypervisor/index.ts';
export { VirtualMachine } from './vm/index.ts';
export type { GuestFault, Profile, RunReason, RunResult, VmOptions, VmStats } from './vm/index.ts';
export { parseElf, parseImage } from './loader/index.ts';
export type { ElfImage } from './loader/index.ts';
export type { Isa } from './cpu/index.ts';
export type { ChannelConfig, HealthPolicy, LifecycleEvent, PartitionState } from './partition/index.ts';
export type { ScheduleConfig, TimeBase } from './schedule/index.ts';
