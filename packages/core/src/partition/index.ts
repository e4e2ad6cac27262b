/**
 * Partition building blocks: the lifecycle state machine, the health monitor, sampling and queuing
 * ports, channels between partitions, and the typed event emitter they share.
 *
 * @module @rvisor/core/partition
 */
export * from './events.ts';
export * from './lifecycle.ts';
export * from './health.ts';
export * from './queuing.ts';
export * from './sampling.ts';
export * from './channel.ts';
