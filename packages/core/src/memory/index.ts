/**
 * Guest memory: the per-partition bus (RAM plus device and shared-window mappings), the hypervisor's
 * fixed memory pool, and memory admission control for partitions and shared windows.
 *
 * @module @rvisor/core/memory
 */
export { Bus, PAGE_CODE, PAGE_SHIFT, PAGE_SIZE, PAGE_WATCH } from './bus.ts';
export type { Device, FlaggedStoreHook } from './bus.ts';
export {
  DEFAULT_ALIGN,
  MEMORY_BAD_SIZE,
  MEMORY_EXHAUSTED,
  MEMORY_NOT_ALLOCATED,
  MEMORY_POOL_CONFIG,
  MemoryPool,
} from './pool.ts';
export type { PoolOptions, PoolStats, Region } from './pool.ts';
export {
  ID_PATTERN,
  MEMORY_BAD_GRANT,
  MEMORY_BAD_NAME,
  MEMORY_DUPLICATE_GRANT,
  MEMORY_PARTITION_EXISTS,
  MEMORY_PLAN_STALE,
  MEMORY_RAM_RANGE,
  MEMORY_UNKNOWN_PARTITION,
  MEMORY_UNKNOWN_WINDOW,
  MEMORY_WINDOW_EXISTS,
  MEMORY_WINDOW_IN_USE,
  MEMORY_WINDOW_OVERLAP,
  MEMORY_WINDOW_RANGE,
  Partitioner,
  WINDOW_ADDRESS_ALIGN,
} from './partitioner.ts';
export type {
  Access,
  Admission,
  AdmissionPlan,
  AdmissionRequest,
  GrantSpec,
  GuestRange,
  PartitionMemory,
  PartitionMemorySpec,
  SharedWindow,
  SharedWindowSpec,
  WindowGrant,
} from './partitioner.ts';
