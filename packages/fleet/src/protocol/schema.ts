import type { ErrorBody } from './errors.ts';

/**
 * Version of every payload's shape, carried as `v` in each message. A peer
 * rejects a different version with FLEET_BAD_SCHEMA rather than guessing;
 * fields it does not know are ignored, so adding an optional field does not
 * need a new version, while renaming or retyping one does.
 */
export const SCHEMA_VERSION = 1;

/** Default upper bound of one encoded payload (bytes); larger state moves in chunks. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export type PartitionState = 'created' | 'running' | 'paused' | 'stopped' | 'faulted';
export const PARTITION_STATES: readonly PartitionState[] = ['created', 'running', 'paused', 'stopped', 'faulted'];
export type Profile = 'app' | 'machine';
export const PROFILES: readonly Profile[] = ['app', 'machine'];
export type Isa = 'rv32imac' | 'rv32ima';
export const ISAS: readonly Isa[] = ['rv32imac', 'rv32ima'];

export interface Capabilities {
  poolBytes: number;
  poolFreeBytes: number;
  maxPartitions: number;
  /** Schedule modes the host supports, e.g. `['instructions', 'wall']`. */
  schedules: string[];
  /** e.g. `node 20.20.2`. */
  runtime: string;
  isa: string[];
}

export interface PartitionReport {
  name: string;
  state: PartitionState;
  ramSize: number;
  instructions: number;
  /** SHA-256 of the image, lowercase hex. */
  image: string;
  fault?: string;
}

/** One window of a partition inside the host's major frame (units: the host's schedule mode). */
export interface WindowSpec {
  offset: number;
  duration: number;
}

export interface ScheduleWindow extends WindowSpec {
  partition: string;
}

export interface SchedulePlan {
  majorFrame: number;
  windows: ScheduleWindow[];
}

/** Ed25519 signature over the canonical encoding of a command (see sign.ts). */
export interface Signature {
  /** Key id the agent looks up in its trust store. */
  key: string;
  /** 16 random bytes, never accepted twice while `exp` is in the future. */
  nonce: Uint8Array;
  /** Expiry, ms since the Unix epoch. */
  exp: number;
  /** 64-byte Ed25519 signature. */
  sig: Uint8Array;
}

/** Signature over an image's SHA-256 (publisher key, independent of who sends the command). */
export interface ImageSignature {
  key: string;
  sig: Uint8Array;
}

/** Bytes either inline (`doc`) or previously uploaded with chunk-put (`transfer`). */
export interface BlobRef {
  doc?: Uint8Array;
  transfer?: string;
  /** SHA-256 of the whole blob, lowercase hex; checked before anything is applied. */
  digest: string;
}

export interface DeployArgs {
  name: string;
  image?: Uint8Array;
  /** Upload id of an image sent with chunk-put, instead of `image`. */
  transfer?: string;
  /** SHA-256 hex of the image; required with `transfer`, checked when given. */
  digest?: string;
  profile: Profile;
  isa: Isa;
  ramSize: number;
  windows?: WindowSpec[];
  /** Start right after deploying; if the start fails the deploy is undone. */
  start?: boolean;
  imageSig?: ImageSignature;
}

export interface NameArgs {
  name: string;
}

export interface RestoreArgs extends BlobRef {
  name: string;
}

export interface ChunkPutArgs {
  transfer: string;
  index: number;
  count: number;
  data: Uint8Array;
}

export interface ChunkGetArgs {
  transfer: string;
  index: number;
}

export interface CommandArgs {
  deploy: DeployArgs;
  start: NameArgs;
  pause: NameArgs;
  resume: NameArgs;
  stop: NameArgs;
  destroy: NameArgs;
  snapshot: NameArgs;
  restore: RestoreArgs;
  'migrate-out': NameArgs;
  'migrate-in': RestoreArgs;
  'update-schedule': SchedulePlan;
  rebirth: Record<string, never>;
  'chunk-put': ChunkPutArgs;
  'chunk-get': ChunkGetArgs;
}

export type CommandKind = keyof CommandArgs;
export const COMMAND_KINDS: readonly CommandKind[] = [
  'deploy', 'start', 'pause', 'resume', 'stop', 'destroy', 'snapshot', 'restore',
  'migrate-out', 'migrate-in', 'update-schedule', 'rebirth', 'chunk-put', 'chunk-get',
];

/** A snapshot (or other blob) handed back: inline when small, else as a transfer to fetch with chunk-get. */
export interface BlobResult {
  digest: string;
  size: number;
  doc?: Uint8Array;
  transfer?: string;
  chunks?: number;
  chunkSize?: number;
}

export interface CommandResults {
  deploy: { partition: PartitionReport };
  start: { partition: PartitionReport };
  pause: { partition: PartitionReport };
  resume: { partition: PartitionReport };
  stop: { partition: PartitionReport };
  destroy: { name: string };
  snapshot: BlobResult;
  restore: { partition: PartitionReport };
  'migrate-out': BlobResult;
  'migrate-in': { partition: PartitionReport };
  'update-schedule': { majorFrame: number };
  rebirth: { session: number; seq: number };
  'chunk-put': { transfer: string; received: number; count: number };
  'chunk-get': { data: Uint8Array; count: number };
}

export interface StateMsg {
  v: number;
  t: 'state';
  gw: string;
  online: boolean;
  /** Per-connection session number: grows with every (re)connect of the agent. */
  session: number;
  /** Sequence number inside the session, shared by state and telemetry. */
  seq: number;
  ts: number;
  capabilities?: Capabilities;
  partitions?: PartitionReport[];
  /** Why the state was published: `birth`, `change`, `rebirth`, `shutdown`, `will`. */
  reason?: string;
}

export interface CommandMsg<K extends CommandKind = CommandKind> {
  v: number;
  t: 'cmd';
  /** Command id: idempotency key and request id of the reply. */
  id: string;
  kind: K;
  /** Full reply topic; must lie under this gateway's `reply/` prefix. */
  replyTo: string;
  /** ms since the Unix epoch after which the agent will not start the command. */
  deadline: number;
  args: CommandArgs[K];
  sig?: Signature;
}

export interface ReplyMsg {
  v: number;
  t: 'reply';
  id: string | null;
  gw: string;
  kind?: string;
  ok: boolean;
  result?: unknown;
  error?: ErrorBody;
  ts: number;
}

export interface TelemetryMsg {
  v: number;
  t: 'telemetry';
  gw: string;
  session: number;
  seq: number;
  ts: number;
  /** Periodic report of every partition. */
  partitions?: PartitionReport[];
  poolFreeBytes?: number;
  /** Guest-published telemetry: partition and opaque bytes. */
  p?: string;
  /** Guest-chosen telemetry topic (free text, not an MQTT level). */
  topic?: string;
  data?: Uint8Array;
  /** Guest telemetry messages dropped by the rate limit since the last one sent. */
  dropped?: number;
}

export interface ConsoleMsg {
  v: number;
  t: 'console';
  gw: string;
  p: string;
  session: number;
  /** Per-partition sequence number: a gap means console messages were lost in transit. */
  seq: number;
  data: Uint8Array;
  /** Bytes dropped by the rate limit since the previous message. */
  dropped: number;
}

export type Message = StateMsg | CommandMsg | ReplyMsg | TelemetryMsg | ConsoleMsg;
export type MessageType = Message['t'];
