export * from './events.ts';
export * from './lifecycle.ts';
export * from './health.ts';
export * from './queuing.ts';
export * from './sampling.ts';
export * from './channel.ts';
