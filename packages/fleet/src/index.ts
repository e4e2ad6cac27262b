export * from './protocol/index.ts';
export type { GatewayHost, DeploySpec, HostEvent } from './host.ts';
export { Agent, type AgentOptions } from './agent.ts';
export { Controller, type ControllerOptions, type ControllerEvent, type GatewayView, type Workload, type Checkpoint } from './controller.ts';
export { Transport, type TransportOptions, type Incoming, type PublishOptions, type Will } from './transport.ts';
export { systemClock, type Clock } from './clock.ts';
export { TokenBucket } from './rate-limit.ts';
