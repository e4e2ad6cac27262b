import { systemClock, type Clock } from './clock.ts';
import { decodeMessage, encodeMessage } from './protocol/codec.ts';
import {
  FleetError, FLEET_BAD_STATE, FLEET_DIGEST_MISMATCH, FLEET_MIGRATION_FAILED, FLEET_NO_GATEWAY, FLEET_OFFLINE, FLEET_TIMEOUT, fleetError,
} from './protocol/errors.ts';
import {
  DEFAULT_MAX_PAYLOAD, SCHEMA_VERSION,
  type BlobResult, type Capabilities, type CommandArgs, type CommandKind, type CommandMsg, type CommandResults, type Isa,
  type PartitionReport, type Profile, type ReplyMsg, type StateMsg, type TelemetryMsg, type WindowSpec,
} from './protocol/schema.ts';
import { sha256Hex, signCommand, type Signer } from './protocol/sign.ts';
import { checkName, cmdTopic, consoleTopic, filters, parseTopic, replyTopic } from './protocol/topics.ts';
import { Rollout, type RolloutSpec } from './rollout.ts';

export type { TlsOptions } from './transport.ts';
export type { Rollout, RolloutAction, RolloutEvent, RolloutFailure, RolloutReport, RolloutSpec, RolloutStatus } from './rollout.ts';
import { Transport, type Incoming, type TransportOptions } from './transport.ts';

export interface ControllerOptions {
  fleet: string;
  url: string;
  /** Controller id: names its reply topics. Default: random. */
  id?: string;
  protocolVersion?: 4 | 5;
  connection?: Partial<Omit<TransportOptions, 'url' | 'clientId' | 'protocolVersion'>>;
  /** Signs every command when set (agents with a trusted key require it). */
  signer?: Signer;
  /** Lifetime of a command signature (default 60 s; must be inside the agents' replay window). */
  signatureTtlMs?: number;
  /** Default deadline of a command (default 10 s). */
  commandTimeoutMs?: number;
  maxPayload?: number;
  /** Bytes per chunk when uploading large snapshots/images (default 256 KiB). */
  chunkSize?: number;
  /** How often desired workloads are checkpointed (snapshot kept here for failover); 0 = never (default). */
  checkpointIntervalMs?: number;
  /** Reconcile periodically as well as on births, losses and setDesired (0 = off, default). */
  reconcileIntervalMs?: number;
  /** Least time between two rebirth requests to one gateway (default 1 s). */
  rebirthHoldoffMs?: number;
  /** Restart workloads of a gateway whose last will arrives (default true). */
  failover?: boolean;
  /** Destroy partitions of workloads this controller placed once they leave the desired state (default false). */
  prune?: boolean;
  clock?: Clock;
}

export interface GatewayView {
  gw: string;
  online: boolean;
  session: number;
  /** Last sequence number seen in `session`. */
  seq: number;
  capabilities?: Capabilities;
  partitions: PartitionReport[];
  lastSeen: number;
}

export interface Workload {
  name: string;
  image: Uint8Array;
  profile?: Profile;
  isa?: Isa;
  ramSize: number;
  windows?: WindowSpec[];
  /** Run only on this gateway. */
  gateway?: string;
}

export interface Checkpoint {
  doc: Uint8Array;
  digest: string;
  gw: string;
  at: number;
}

export type ControllerEvent =
  | { type: 'online'; gw: string; session: number }
  | { type: 'offline'; gw: string; session: number; reason: string }
  | { type: 'state'; gw: string; msg: StateMsg }
  | { type: 'telemetry'; gw: string; msg: TelemetryMsg }
  | { type: 'console'; gw: string; partition: string; data: Uint8Array; dropped: number }
  | { type: 'rebirth-requested'; gw: string; session: number; expected: number; got: number }
  | { type: 'placed'; workload: string; gw: string; from: 'image' | 'checkpoint' | 'existing' }
  | { type: 'migrated'; workload: string; from: string; to: string }
  | { type: 'failover'; workload: string; from: string }
  | { type: 'checkpoint'; workload: string; gw: string; size: number }
  | { type: 'error'; error: FleetError | Error; context: string };

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: unknown) => void;
  timer: unknown;
  gw: string;
  kind: CommandKind;
}

function randomHex(bytes: number): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * Fleet controller: tracks gateways from their retained state and telemetry,
 * sends commands and awaits replies, holds desired state and reconciles it,
 * migrates workloads and fails them over when a gateway's last will arrives.
 */
export class Controller {
  readonly fleet: string;
  readonly id: string;
  readonly clock: Clock;
  transport: Transport | undefined;
  /** Latest checkpoint per workload (also refreshed by every migration). */
  readonly checkpoints = new Map<string, Checkpoint>();

  readonly #opts: ControllerOptions;
  readonly #gateways = new Map<string, GatewayView>();
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(e: ControllerEvent) => void>();
  readonly #lastRebirth = new Map<string, number>();
  readonly #desired = new Map<string, Workload>();
  /** Where the controller put each desired workload. */
  readonly placement = new Map<string, string>();
  /** Workloads this controller has placed or adopted: the only ones `prune` may remove. */
  readonly #managed = new Set<string>();
  /** Workloads in the middle of a migration: reconcile leaves them alone. */
  readonly #moving = new Set<string>();
  /** Ids of rollouts in progress: two runs of one job at once would share command ids. */
  readonly #rollouts = new Set<string>();
  #counter = 0;
  #reconciling: Promise<unknown> = Promise.resolve();
  #checkpointTimer: unknown;
  #reconcileTimer: unknown;
  #running = false;

  constructor(options: ControllerOptions) {
    this.#opts = options;
    this.fleet = checkName('fleet', options.fleet);
    this.id = checkName('controller', options.id ?? `ctl-${randomHex(6)}`);
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    const t = await Transport.connect({
      ...this.#opts.connection,
      url: this.#opts.url,
      clientId: `rvisor-controller-${this.fleet}-${this.id}`,
      protocolVersion: this.#opts.protocolVersion ?? 4,
    });
    this.transport = t;
    this.#running = true;
    t.onMessage((m) => this.#onMessage(m));
    await t.subscribe([filters.states(this.fleet), filters.telemetry(this.fleet), filters.replies(this.fleet, this.id)]);
    this.#scheduleCheckpoints();
    this.#scheduleReconcile();
  }

  #scheduleReconcile(): void {
    const every = this.#opts.reconcileIntervalMs ?? 0;
    if (every <= 0 || !this.#running) return;
    this.#reconcileTimer = this.clock.setTimeout(() => {
      const next = (): void => this.#scheduleReconcile();
      if (this.#desired.size === 0) return next();
      this.reconcile().then(next, next);
    }, every);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.clock.clearTimeout(this.#checkpointTimer);
    this.clock.clearTimeout(this.#reconcileTimer);
    for (const [id, p] of this.#pending) {
      this.clock.clearTimeout(p.timer);
      p.reject(fleetError(FLEET_TIMEOUT, `command ${id} abandoned: controller stopped`));
    }
    this.#pending.clear();
    await this.transport?.end();
  }

  on(listener: (e: ControllerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first event matching `pred` (rejects after `timeoutMs`). */
  waitFor<E extends ControllerEvent>(pred: (e: ControllerEvent) => e is E, timeoutMs?: number): Promise<E>;
  waitFor(pred: (e: ControllerEvent) => boolean, timeoutMs?: number): Promise<ControllerEvent>;
  waitFor(pred: (e: ControllerEvent) => boolean, timeoutMs = 5000): Promise<ControllerEvent> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => { off(); reject(fleetError(FLEET_TIMEOUT, `no matching controller event within ${timeoutMs} ms`)); }, timeoutMs);
      const off = this.on((e) => {
        if (!pred(e)) return;
        off();
        this.clock.clearTimeout(timer);
        resolve(e);
      });
    });
  }

  /** Resolves once `gw` is known online (retained births arrive shortly after start()). */
  async whenOnline(gw: string, timeoutMs = 5000): Promise<GatewayView> {
    const v = this.#gateways.get(gw);
    if (v?.online) return v;
    await this.waitFor((e) => e.type === 'online' && e.gw === gw, timeoutMs);
    return this.#gateways.get(gw)!;
  }

  gateways(): GatewayView[] {
    return [...this.#gateways.values()];
  }

  gateway(gw: string): GatewayView | undefined {
    return this.#gateways.get(gw);
  }

  /** Also deliver `console` events of `gw` (all gateways by default). */
  async watchConsoles(gw = '+'): Promise<void> {
    await this.transport!.subscribe([filters.consoles(this.fleet, gw)]);
  }

  #emit(e: ControllerEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not stop message processing.
      }
    }
  }

  // ---- inbound -----------------------------------------------------------------

  #onMessage(m: Incoming): void {
    const parsed = parseTopic(m.topic);
    if (!parsed || parsed.fleet !== this.fleet) return;
    let msg;
    try {
      msg = decodeMessage(m.payload, { maxPayload: this.#opts.maxPayload ?? DEFAULT_MAX_PAYLOAD });
    } catch (err) {
      this.#emit({ type: 'error', error: err as FleetError, context: `payload on ${m.topic}` });
      return;
    }
    if (parsed.kind === 'state' && msg.t === 'state' && msg.gw === parsed.gw) this.#onState(msg, m.retain);
    else if (parsed.kind === 'telemetry' && msg.t === 'telemetry' && msg.gw === parsed.gw) this.#onTelemetry(msg, m.retain);
    else if (parsed.kind === 'reply' && msg.t === 'reply') this.#onReply(msg);
    else if (parsed.kind === 'console' && msg.t === 'console') this.#emit({ type: 'console', gw: parsed.gw, partition: parsed.partition, data: msg.data, dropped: msg.dropped });
  }

  #view(gw: string): GatewayView {
    let v = this.#gateways.get(gw);
    if (!v) {
      v = { gw, online: false, session: -1, seq: -1, partitions: [], lastSeen: 0 };
      this.#gateways.set(gw, v);
    }
    return v;
  }

  #onState(msg: StateMsg, retained: boolean): void {
    const v = this.#view(msg.gw);
    // An older session's will that arrives after the new birth is stale.
    if (msg.session < v.session) return;
    v.lastSeen = this.clock.now();
    if (!msg.online) {
      const was = v.online;
      v.online = false;
      v.session = msg.session;
      this.#emit({ type: 'state', gw: msg.gw, msg });
      if (was || retained === false) this.#emit({ type: 'offline', gw: msg.gw, session: msg.session, reason: msg.reason ?? 'will' });
      if (was) this.#onGatewayLost(msg.gw);
      return;
    }
    const fresh = msg.session !== v.session || !v.online;
    if (!retained && !fresh && msg.seq > v.seq + 1) this.#gap(v, msg.session, msg.seq);
    else if (!retained && !fresh && msg.seq <= v.seq && msg.seq !== 0) return;
    v.online = true;
    v.session = msg.session;
    v.seq = msg.seq;
    if (msg.capabilities) v.capabilities = msg.capabilities;
    if (msg.partitions) v.partitions = msg.partitions;
    this.#emit({ type: 'state', gw: msg.gw, msg });
    if (fresh) {
      this.#emit({ type: 'online', gw: msg.gw, session: msg.session });
      if (this.#desired.size > 0) this.reconcile().catch((e) => this.#emit({ type: 'error', error: e, context: 'reconcile' }));
    }
  }

  #onTelemetry(msg: TelemetryMsg, retained: boolean): void {
    const v = this.#view(msg.gw);
    v.lastSeen = this.clock.now();
    if (msg.session < v.session) return;
    if (msg.session > v.session || !v.online) {
      // Data from a session whose birth we never saw: ask for it.
      this.#gap(v, msg.session, msg.seq);
    } else if (msg.seq > v.seq + 1 && !retained) {
      this.#gap(v, msg.session, msg.seq);
      v.seq = msg.seq;
    } else if (msg.seq <= v.seq) {
      return;
    } else {
      v.seq = msg.seq;
    }
    if (msg.partitions) v.partitions = msg.partitions;
    if (msg.poolFreeBytes !== undefined && v.capabilities) v.capabilities = { ...v.capabilities, poolFreeBytes: msg.poolFreeBytes };
    this.#emit({ type: 'telemetry', gw: msg.gw, msg });
  }

  #gap(v: GatewayView, session: number, got: number): void {
    const now = this.clock.now();
    const last = this.#lastRebirth.get(v.gw) ?? -Infinity;
    if (now - last < (this.#opts.rebirthHoldoffMs ?? 1000)) return;
    this.#lastRebirth.set(v.gw, now);
    this.#emit({ type: 'rebirth-requested', gw: v.gw, session, expected: v.seq + 1, got });
    this.send(v.gw, 'rebirth', {}, { allowOffline: true }).catch((e) => this.#emit({ type: 'error', error: e, context: `rebirth of ${v.gw}` }));
  }

  #onReply(msg: ReplyMsg): void {
    if (msg.id === null) return;
    const p = this.#pending.get(msg.id);
    if (!p || p.gw !== msg.gw) return;
    this.#pending.delete(msg.id);
    this.clock.clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else {
      const body = msg.error ?? { code: 'FLEET_HOST_ERROR', message: 'error reply without error body' };
      p.reject(fleetError(body.code, `${msg.gw}: ${p.kind} failed: ${body.message}`, body.path));
    }
  }

  // ---- commands ------------------------------------------------------------------

  /**
   * Sends one command and resolves with its result, or rejects with the
   * agent's typed error (same `code`) or FLEET_TIMEOUT once the deadline
   * passes. Retrying with the same `id` is safe: the agent applies it once.
   */
  async send<K extends CommandKind>(
    gw: string, kind: K, args: CommandArgs[K],
    options: { timeoutMs?: number; id?: string; allowOffline?: boolean } = {},
  ): Promise<CommandResults[K]> {
    const t = this.transport;
    if (!t) throw fleetError(FLEET_OFFLINE, 'controller is not started');
    checkName('gateway', gw);
    if (!options.allowOffline && this.#gateways.get(gw)?.online === false) {
      throw fleetError(FLEET_OFFLINE, `gateway ${gw} is offline; ${kind} not sent`);
    }
    const id = options.id ?? `${this.id}.${randomHex(4)}.${++this.#counter}`;
    const timeoutMs = options.timeoutMs ?? this.#opts.commandTimeoutMs ?? 10_000;
    const now = this.clock.now();
    const cmd: CommandMsg<K> = {
      v: SCHEMA_VERSION, t: 'cmd', id, kind, replyTo: replyTopic(this.fleet, gw, this.id), deadline: Math.floor(now + timeoutMs), args,
    };
    if (this.#opts.signer) await signCommand(cmd as CommandMsg, this.fleet, gw, this.#opts.signer, { ttlMs: this.#opts.signatureTtlMs ?? 60_000, now });
    const payload = encodeMessage(cmd as CommandMsg, { maxPayload: this.#opts.maxPayload ?? DEFAULT_MAX_PAYLOAD });
    const result = new Promise<CommandResults[K]>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(fleetError(FLEET_TIMEOUT, `${gw}: ${kind} ${id} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer, gw, kind });
    });
    // It may settle (stop(), a fast error reply) while the publish below is still awaited.
    result.catch(() => {});
    try {
      await t.publish(cmdTopic(this.fleet, gw), payload, {
        qos: 1, responseTopic: cmd.replyTo, correlationData: new TextEncoder().encode(id),
      });
    } catch (err) {
      const p = this.#pending.get(id);
      if (p) {
        this.clock.clearTimeout(p.timer);
        this.#pending.delete(id);
      }
      throw err;
    }
    return result;
  }

  /** Downloads a blob a command returned (inline or in chunks) and checks its digest. */
  async fetchBlob(gw: string, b: BlobResult): Promise<Uint8Array> {
    let doc: Uint8Array;
    if (b.doc) {
      doc = b.doc;
    } else {
      // All requests at once: the agent answers them in order, without a round trip between chunks.
      const gets = Array.from({ length: b.chunks ?? 0 }, (_, i) => this.send(gw, 'chunk-get', { transfer: b.transfer!, index: i }));
      doc = concat((await Promise.all(gets)).map((r) => r.data));
    }
    const d = await sha256Hex(doc);
    if (d !== b.digest || doc.length !== b.size) throw fleetError(FLEET_DIGEST_MISMATCH, `blob from ${gw} hashes to ${d} (${doc.length} bytes), expected ${b.digest} (${b.size} bytes)`);
    return doc;
  }

  /** `{ doc }` when it fits a payload, else uploads it with chunk-put and returns `{ transfer }`; always with its digest. */
  async stageBlob(
    gw: string, doc: Uint8Array, options: { transfer?: string; chunkId?: (index: number) => string; timeoutMs?: number } = {},
  ): Promise<{ doc?: Uint8Array; transfer?: string; digest: string }> {
    const digest = await sha256Hex(doc);
    const chunkSize = this.#opts.chunkSize ?? 256 * 1024;
    if (doc.length <= chunkSize) return { doc, digest };
    // A caller-chosen transfer and chunk ids make a repeated upload a duplicate (answered from the agent's cache).
    const transfer = options.transfer ?? `up.${randomHex(8)}`;
    const count = Math.ceil(doc.length / chunkSize);
    const opts = (i: number): { id?: string; timeoutMs?: number } => ({
      ...(options.chunkId ? { id: options.chunkId(i) } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    await Promise.all(Array.from({ length: count }, (_, i) => this.send(gw, 'chunk-put', { transfer, index: i, count, data: doc.subarray(i * chunkSize, (i + 1) * chunkSize) }, opts(i))));
    return { transfer, digest };
  }

  // ---- rollouts ---------------------------------------------------------------------

  /**
   * Applies one action to many gateways with a rate limit and an abort
   * threshold (PROTOCOL.md §12). Returns at once; the job starts on the next
   * microtask, so listeners attached right away see every event.
   */
  rollout(spec: RolloutSpec): Rollout {
    if (!this.transport) throw fleetError(FLEET_OFFLINE, 'controller is not started');
    if (spec.id !== undefined && this.#rollouts.has(spec.id)) throw fleetError(FLEET_BAD_STATE, `rollout ${spec.id} is already running`);
    const job = new Rollout(this, spec);
    this.#rollouts.add(job.id);
    void job.result.finally(() => this.#rollouts.delete(job.id));
    return job;
  }

  // ---- migration and checkpoints ------------------------------------------------

  /**
   * Live migration: pause + snapshot on `from`, transfer, restore paused on
   * `to`, resume there, destroy on `from`. Until the target runs, any failure
   * resumes the source, so the workload keeps running somewhere.
   */
  async migrate(name: string, from: string, to: string): Promise<void> {
    if (this.#moving.has(name)) throw fleetError(FLEET_MIGRATION_FAILED, `workload ${name} is already being migrated`);
    this.#moving.add(name);
    try {
      const blob = await this.send(from, 'migrate-out', { name });
      let restored = false;
      try {
        const doc = await this.fetchBlob(from, blob);
        const ref = await this.stageBlob(to, doc);
        await this.send(to, 'migrate-in', { name, ...ref });
        restored = true;
        await this.send(to, 'resume', { name });
        this.checkpoints.set(name, { doc, digest: blob.digest, gw: to, at: this.clock.now() });
      } catch (err) {
        if (restored) await this.send(to, 'destroy', { name }).catch(() => {});
        await this.send(from, 'resume', { name }).catch((e) => this.#emit({ type: 'error', error: e, context: `resume ${name} on ${from} after failed migration` }));
        throw fleetError(FLEET_MIGRATION_FAILED, `migration of ${name} from ${from} to ${to} failed (source resumed): ${(err as Error).message}`, undefined, err);
      }
      if (this.#desired.has(name)) this.placement.set(name, to);
      try {
        await this.send(from, 'destroy', { name });
      } catch (err) {
        // The workload runs on `to`; the paused copy on `from` is fenced by the next reconcile.
        this.#emit({ type: 'error', error: err as Error, context: `destroy ${name} on ${from} after migration` });
      }
      this.#emit({ type: 'migrated', workload: name, from, to });
    } finally {
      this.#moving.delete(name);
    }
  }

  /** Snapshots `name` on `gw` (default: where it is placed) and keeps it as the failover checkpoint. */
  async checkpoint(name: string, gw = this.placement.get(name)): Promise<Checkpoint> {
    if (!gw) throw fleetError(FLEET_NO_GATEWAY, `workload ${name} is not placed on any gateway`);
    const b = await this.send(gw, 'snapshot', { name });
    const doc = await this.fetchBlob(gw, b);
    const cp = { doc, digest: b.digest, gw, at: this.clock.now() };
    this.checkpoints.set(name, cp);
    this.#emit({ type: 'checkpoint', workload: name, gw, size: doc.length });
    return cp;
  }

  #scheduleCheckpoints(): void {
    const every = this.#opts.checkpointIntervalMs ?? 0;
    if (every <= 0 || !this.#running) return;
    this.#checkpointTimer = this.clock.setTimeout(async () => {
      for (const [name, gw] of this.placement) {
        if (this.#moving.has(name) || !this.#gateways.get(gw)?.online) continue;
        await this.checkpoint(name, gw).catch((e) => this.#emit({ type: 'error', error: e, context: `checkpoint ${name}` }));
      }
      this.#scheduleCheckpoints();
    }, every);
  }

  // ---- desired state -------------------------------------------------------------

  /** Replaces the desired workloads and reconciles. */
  async setDesired(workloads: Workload[]): Promise<void> {
    this.#desired.clear();
    for (const w of workloads) this.#desired.set(checkName('workload', w.name), w);
    for (const name of [...this.placement.keys()]) if (!this.#desired.has(name)) this.placement.delete(name);
    await this.reconcile();
  }

  desired(): Workload[] {
    return [...this.#desired.values()];
  }

  /** Brings reported state towards desired state; runs are serialized. Resolves with the errors it met (also emitted). */
  reconcile(): Promise<Error[]> {
    const run = this.#reconciling.then(() => this.#reconcileOnce(), () => this.#reconcileOnce());
    this.#reconciling = run;
    return run;
  }

  async #reconcileOnce(): Promise<Error[]> {
    const errors: Error[] = [];
    const fail = (err: unknown, context: string): void => {
      errors.push(err as Error);
      this.#emit({ type: 'error', error: err as Error, context });
    };
    for (const w of this.#desired.values()) {
      if (this.#moving.has(w.name)) continue;
      const hosts = this.gateways().filter((g) => g.online && g.partitions.some((p) => p.name === w.name));
      try {
        if (hosts.length > 0) {
          const keep = hosts.find((g) => g.gw === this.placement.get(w.name)) ?? hosts[0]!;
          this.placement.set(w.name, keep.gw);
          this.#managed.add(w.name);
          // Fencing: a copy elsewhere (a gateway that came back after failover) goes.
          for (const g of hosts) {
            if (g === keep) continue;
            // NOT_FOUND: the view was stale (e.g. the source of a finished migration).
            await this.send(g.gw, 'destroy', { name: w.name }).catch((e) => { if ((e as FleetError).code !== 'FLEET_NOT_FOUND') fail(e, `fence ${w.name} on ${g.gw}`); });
          }
          const state = keep.partitions.find((p) => p.name === w.name)!.state;
          if (state === 'created' || state === 'stopped') await this.send(keep.gw, 'start', { name: w.name });
          else if (state === 'paused') await this.send(keep.gw, 'resume', { name: w.name });
          continue;
        }
        await this.#place(w);
      } catch (err) {
        fail(err, `reconcile ${w.name}`);
      }
    }
    if (this.#opts.prune) {
      for (const g of this.gateways()) {
        if (!g.online) continue;
        for (const p of g.partitions) {
          if (!this.#managed.has(p.name) || this.#desired.has(p.name) || this.#moving.has(p.name)) continue;
          try {
            await this.send(g.gw, 'destroy', { name: p.name });
            this.#managed.delete(p.name);
          } catch (err) {
            fail(err, `prune ${p.name} on ${g.gw}`);
          }
        }
      }
    }
    return errors;
  }

  /** Gateways that can take `w`, most free memory first. */
  candidates(w: Pick<Workload, 'ramSize' | 'gateway'>, exclude: string[] = []): GatewayView[] {
    return this.gateways()
      .filter((g) => g.online && g.capabilities && !exclude.includes(g.gw) && (!w.gateway || g.gw === w.gateway))
      .filter((g) => g.capabilities!.poolFreeBytes >= w.ramSize && g.partitions.length < g.capabilities!.maxPartitions)
      .sort((a, b) => b.capabilities!.poolFreeBytes - a.capabilities!.poolFreeBytes);
  }

  async #place(w: Workload): Promise<void> {
    const previous = this.placement.get(w.name);
    const [target] = this.candidates(w, previous && !this.#gateways.get(previous)?.online ? [previous] : []);
    if (!target) throw fleetError(FLEET_NO_GATEWAY, `no online gateway has ${w.ramSize} bytes and a free partition slot for ${w.name}`);
    const cp = this.checkpoints.get(w.name);
    if (cp) {
      const ref = await this.stageBlob(target.gw, cp.doc);
      await this.send(target.gw, 'migrate-in', { name: w.name, ...ref });
      await this.send(target.gw, 'resume', { name: w.name });
    } else {
      const ref = await this.stageBlob(target.gw, w.image);
      await this.send(target.gw, 'deploy', {
        name: w.name, ...(ref.doc ? { image: ref.doc } : { transfer: ref.transfer! }), digest: ref.digest,
        profile: w.profile ?? 'app', isa: w.isa ?? 'rv32imac', ramSize: w.ramSize, ...(w.windows ? { windows: w.windows } : {}), start: true,
      });
    }
    this.placement.set(w.name, target.gw);
    this.#managed.add(w.name);
    // Count the placement now, so the next workload in this run sees less room.
    target.partitions = [...target.partitions, { name: w.name, state: 'running', ramSize: w.ramSize, instructions: 0, image: '' }];
    target.capabilities = { ...target.capabilities!, poolFreeBytes: target.capabilities!.poolFreeBytes - w.ramSize };
    this.#emit({ type: 'placed', workload: w.name, gw: target.gw, from: cp ? 'checkpoint' : 'image' });
  }

  #onGatewayLost(gw: string): void {
    // Pending commands to `gw` are left to their deadlines: the agent may reconnect and answer.
    if (this.#opts.failover === false) return;
    let lost = false;
    for (const [name, where] of this.placement) {
      if (where !== gw) continue;
      lost = true;
      this.#emit({ type: 'failover', workload: name, from: gw });
    }
    if (lost) this.reconcile().catch((e) => this.#emit({ type: 'error', error: e, context: 'failover reconcile' }));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
