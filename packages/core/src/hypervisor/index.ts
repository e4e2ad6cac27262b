/**
 * `@rvisor/core/hypervisor`: partitions, schedules, channels and health on one memory pool.
 *
 * @module @rvisor/core/hypervisor
 */
export { Hypervisor } from './hypervisor.ts';
export type { ConsoleEvent, FrameReport, HypervisorEvents, HypervisorOptions, HypervisorStats, RestoreOptions, TelemetryEvent, WindowReport } from './hypervisor.ts';
export { Partition } from './partition.ts';
export type { PartitionConfig, PartitionStats } from './partition.ts';
export { systemClock, yieldToHost } from './clock.ts';
export type { Clock } from './clock.ts';
export {
  HC_CHAN_READ_SAMPLE, HC_CHAN_RECV, HC_CHAN_SEND, HC_CHAN_WRITE_SAMPLE, HC_PARTITION_ID, HC_START_CONDITION, HC_TELEMETRY,
  HC_YIELD, MAX_TELEMETRY_PAYLOAD, MAX_TELEMETRY_TOPIC,
} from './hypercalls.ts';
export { createGateway, parseGatewayConfig, parseSize } from './gateway.ts';
export type { GatewayConfig, GatewayPartition, GatewayWindow } from './gateway.ts';
