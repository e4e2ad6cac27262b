import type { Capabilities, Isa, PartitionReport, PartitionState, Profile, SchedulePlan, WindowSpec } from './protocol/schema.ts';

export type { Capabilities, PartitionReport, PartitionState, SchedulePlan, WindowSpec };

export interface DeploySpec {
  name: string;
  /** ELF32 or flat binary, already signature-checked and digest-checked by the agent. */
  image: Uint8Array;
  profile: Profile;
  isa: Isa;
  ramSize: number;
  /** The partition's windows in the host's major frame; absent = the host picks. */
  windows?: WindowSpec[];
}

export type HostEvent =
  | { type: 'state'; name: string; state: PartitionState | 'destroyed'; fault?: string }
  | { type: 'console'; name: string; data: Uint8Array }
  | { type: 'telemetry'; name: string; data: Uint8Array; /** Guest-chosen topic (core's HC_TELEMETRY), max 64 chars. */ topic?: string };

/**
 * What the fleet agent needs from the hypervisor of its gateway. Every method
 * is all-or-nothing: when it rejects, the host is exactly as before the call
 * (the agent relies on this to promise "never half-applied"). Errors should
 * be RvisorErrors; their `code` travels to the controller unchanged.
 */
export interface GatewayHost {
  capabilities(): Capabilities;
  partitions(): PartitionReport[];
  /** Creates partition `name` in state `created`. Fails if the name exists or it does not fit. */
  deploy(spec: DeploySpec): Promise<void>;
  /** created|stopped -> running. */
  start(name: string): Promise<void>;
  /** running -> paused. */
  pause(name: string): Promise<void>;
  /** paused -> running. */
  resume(name: string): Promise<void>;
  /** running|paused|faulted|created -> stopped. */
  stop(name: string): Promise<void>;
  /** any -> gone; frees its memory and windows. */
  destroy(name: string): Promise<void>;
  /** Versioned CBOR document of a paused, stopped or created partition (bit-exact restorable). */
  snapshot(name: string): Promise<Uint8Array>;
  /** Creates `name` from a snapshot, or replaces a non-running one; the result is paused. */
  restore(name: string, doc: Uint8Array): Promise<void>;
  /** Replaces the major frame; validated as a whole, applied at the next frame boundary. */
  updateSchedule(plan: SchedulePlan): Promise<void>;
  /** Subscribes to state changes, console bytes and guest telemetry; returns the unsubscribe. */
  onEvent(listener: (e: HostEvent) => void): () => void;
}
