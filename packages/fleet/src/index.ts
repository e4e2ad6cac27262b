export * from './protocol/index.ts';
export type { GatewayHost, DeploySpec, HostEvent } from './host.ts';
export { Agent, type AgentOptions } from './agent.ts';
export { Controller, type ControllerOptions, type ControllerEvent, type GatewayView, type Workload, type Checkpoint } from './controller.ts';
export { Rollout, rolloutCommandId, type RolloutSpec, type RolloutAction, type RolloutEvent, type RolloutReport, type RolloutStatus, type RolloutFailure } from './rollout.ts';
export { Transport, type TransportOptions, type TlsOptions, type Pem, type Incoming, type PublishOptions, type Will } from './transport.ts';
export { systemClock, type Clock } from './clock.ts';
export { TokenBucket } from './rate-limit.ts';
