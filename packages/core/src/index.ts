export { ConfigError, ElfError, FleetError, PartitionError, RvisorError, SnapshotError } from './errors.ts';
export { Bus } from './memory/index.ts';
export type { Device } from './memory/index.ts';
