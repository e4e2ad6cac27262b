import { systemClock, type Clock } from './clock.ts';
import type { GatewayHost, HostEvent } from './host.ts';
import { decodeAs, encodeMessage, encodeValue, type Salvage } from './protocol/codec.ts';
import {
  FLEET_BAD_FIELD, FLEET_BAD_STATE, FLEET_DIGEST_MISMATCH, FLEET_EXISTS, FLEET_ID_REUSED, FLEET_NOT_FOUND, FLEET_TIMEOUT,
  fleetError, toErrorBody,
} from './protocol/errors.ts';
import {
  DEFAULT_MAX_PAYLOAD, SCHEMA_VERSION,
  type BlobResult, type CommandArgs, type CommandKind, type CommandMsg, type CommandResults, type ConsoleMsg,
  type PartitionReport, type ReplyMsg, type RestoreArgs, type StateMsg, type TelemetryMsg,
} from './protocol/schema.ts';
import { ReplayGuard, sha256Hex, TrustStore, verifyCommand, verifyImage } from './protocol/sign.ts';
import {
  checkName, cmdTopic, consoleTopic, INVALID_REPLY_ID, parseTopic, replyPrefix, replyTopic, stateTopic, telemetryTopic,
} from './protocol/topics.ts';
import { TokenBucket } from './rate-limit.ts';
import { Transport, type Incoming, type TransportOptions } from './transport.ts';

export interface AgentOptions {
  fleet: string;
  gw: string;
  host: GatewayHost;
  /** Broker URL; the agent owns its connection because the last will is set at connect time. */
  url: string;
  protocolVersion?: 4 | 5;
  /** Extra connection options (credentials, keepalive, reconnect period). */
  connection?: Partial<Omit<TransportOptions, 'url' | 'clientId' | 'will' | 'protocolVersion'>>;
  /** Public keys (raw 32 bytes) or a ready TrustStore: when set, only commands signed by them run. */
  trustedKeys?: Uint8Array[] | TrustStore;
  /** When set, deploy requires an image signature by one of these keys. */
  trustedImageKeys?: Uint8Array[] | TrustStore;
  /** Longest accepted signature lifetime, which bounds the nonce cache (default 5 min). */
  replayWindowMs?: number;
  maxPayload?: number;
  /** Command results kept for duplicate deliveries (default 1024). */
  idempotencyEntries?: number;
  /** Periodic telemetry; 0 disables (default 10 s). */
  telemetryIntervalMs?: number;
  /** Per-partition console budget (default 4096 B/s, burst 16384 B, flushed every 50 ms). */
  console?: { bytesPerSecond?: number; burstBytes?: number; flushMs?: number };
  /** Per-partition guest telemetry budget (default 10 msg/s, burst 20). */
  guestTelemetry?: { messagesPerSecond?: number; burst?: number };
  /** Snapshot bytes per chunk-get chunk (default 256 KiB); smaller blobs travel inline. */
  chunkSize?: number;
  /** How long an unfinished transfer is kept (default 5 min). */
  transferTtlMs?: number;
  /** First session number (default: the clock's now, so it grows across restarts). */
  session?: number;
  clock?: Clock;
  /** Anything the agent could not tell a peer about (a failed publish); never thrown. */
  onError?: (err: unknown) => void;
}

interface CacheEntry {
  fingerprint: string;
  reply: Promise<ReplyMsg>;
  settled: boolean;
}

interface Transfer {
  count: number;
  chunks: (Uint8Array | undefined)[];
  received: number;
  expires: number;
}

type Handler<K extends CommandKind> = (agent: Agent, args: CommandArgs[K], cmd: CommandMsg<K>) => Promise<CommandResults[K]>;

/**
 * The fleet agent of one gateway: publishes its birth/death and telemetry,
 * executes commands from the controller against a GatewayHost one at a time,
 * and forwards partition consoles. See PROTOCOL.md for the wire contract.
 */
export class Agent {
  readonly fleet: string;
  readonly gw: string;
  readonly host: GatewayHost;
  readonly clock: Clock;
  transport: Transport | undefined;

  readonly #opts: AgentOptions;
  readonly #maxPayload: number;
  readonly #trust: TrustStore | undefined;
  readonly #imageTrust: TrustStore | undefined;
  readonly #replay: ReplayGuard;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #transfers = new Map<string, Transfer>();
  readonly #consoles = new Map<string, { bucket: TokenBucket; buf: Uint8Array[]; dropped: number; seq: number }>();
  readonly #guestTelemetry = new Map<string, { bucket: TokenBucket; dropped: number }>();
  #session: number;
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #unsubscribeHost: (() => void) | undefined;
  #flushTimer: unknown;
  #telemetryTimer: unknown;
  #running = false;
  readonly #trustInit: Promise<void>;

  constructor(options: AgentOptions) {
    this.#opts = options;
    this.fleet = checkName('fleet', options.fleet);
    this.gw = checkName('gateway', options.gw);
    this.host = options.host;
    this.clock = options.clock ?? systemClock;
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#session = Math.floor(options.session ?? this.clock.now());
    this.#replay = new ReplayGuard(options.replayWindowMs ?? 5 * 60_000);
    const inits: Promise<unknown>[] = [];
    const store = (keys: Uint8Array[] | TrustStore | undefined): TrustStore | undefined => {
      if (!keys) return undefined;
      if (keys instanceof TrustStore) return keys;
      const s = new TrustStore();
      for (const k of keys) inits.push(s.add(k));
      return s;
    };
    this.#trust = store(options.trustedKeys);
    this.#imageTrust = store(options.trustedImageKeys);
    this.#trustInit = Promise.all(inits).then(() => undefined);
  }

  get session(): number {
    return this.#session;
  }

  get seq(): number {
    return this.#seq;
  }

  /** Connects with the last will set, subscribes to commands and publishes the birth. */
  async start(): Promise<void> {
    await this.#trustInit;
    const t = await Transport.connect({
      ...this.#opts.connection,
      url: this.#opts.url,
      clientId: `rvisor-agent-${this.fleet}-${this.gw}`,
      protocolVersion: this.#opts.protocolVersion ?? 4,
      will: this.#will(),
    });
    this.transport = t;
    this.#running = true;
    t.onListenerError((e) => this.#error(e));
    t.onMessage((m) => this.#onMessage(m));
    t.onClose(() => {
      // The next connection is a new session; its will must already say so.
      if (!this.#running) return;
      this.#session += 1;
      t.setWill(this.#will());
    });
    t.onConnect(() => { this.#publishBirth('birth').catch((e) => this.#error(e)); });
    await t.subscribe([cmdTopic(this.fleet, this.gw), stateTopic(this.fleet, this.gw)]);
    this.#unsubscribeHost = this.host.onEvent((e) => this.#onHostEvent(e));
    await this.#publishBirth('birth');
    this.#scheduleFlush();
    this.#scheduleTelemetry();
  }

  /** Graceful stop publishes `online: false` itself; `graceful: false` drops the connection so the broker sends the will. */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribeHost?.();
    this.clock.clearTimeout(this.#flushTimer);
    this.clock.clearTimeout(this.#telemetryTimer);
    const t = this.transport!;
    if (options.graceful === false) {
      t.kill();
      return;
    }
    await this.#flushConsoles();
    await this.#publishState(false, 'shutdown').catch((e) => this.#error(e));
    await t.end();
  }

  // ---- liveness -------------------------------------------------------------

  #will(): { topic: string; payload: Uint8Array; qos: 1; retain: true } {
    const msg: StateMsg = { v: SCHEMA_VERSION, t: 'state', gw: this.gw, online: false, session: this.#session, seq: 0, ts: this.clock.now(), reason: 'will' };
    return { topic: stateTopic(this.fleet, this.gw), payload: encodeMessage(msg), qos: 1, retain: true };
  }

  async #publishBirth(reason: string): Promise<void> {
    this.#seq = 0;
    await this.#publishState(true, reason);
  }

  #publishState(online: boolean, reason: string): Promise<void> {
    const msg: StateMsg = {
      v: SCHEMA_VERSION, t: 'state', gw: this.gw, online, session: this.#session, seq: this.#seq++, ts: this.clock.now(), reason,
    };
    if (online) {
      msg.capabilities = this.host.capabilities();
      msg.partitions = this.host.partitions();
    }
    return this.#publish(stateTopic(this.fleet, this.gw), encodeMessage(msg, { maxPayload: this.#maxPayload }), true);
  }

  /** Publishes one periodic telemetry report now (also done every `telemetryIntervalMs`). */
  publishTelemetry(): Promise<void> {
    const msg: TelemetryMsg = {
      v: SCHEMA_VERSION, t: 'telemetry', gw: this.gw, session: this.#session, seq: this.#seq++, ts: this.clock.now(),
      partitions: this.host.partitions(), poolFreeBytes: this.host.capabilities().poolFreeBytes,
    };
    return this.#publish(telemetryTopic(this.fleet, this.gw), encodeMessage(msg, { maxPayload: this.#maxPayload }));
  }

  #scheduleTelemetry(): void {
    const every = this.#opts.telemetryIntervalMs ?? 10_000;
    if (every <= 0 || !this.#running) return;
    this.#telemetryTimer = this.clock.setTimeout(() => {
      this.publishTelemetry().catch((e) => this.#error(e));
      this.#scheduleTelemetry();
    }, every);
  }

  async #publish(topic: string, payload: Uint8Array, retain = false, extra?: { correlationData?: Uint8Array }): Promise<void> {
    const t = this.transport;
    if (!t) return;
    await t.publish(topic, payload, { qos: 1, retain, ...extra });
  }

  #error(err: unknown): void {
    this.#opts.onError?.(err);
  }

  // ---- inbound ---------------------------------------------------------------

  #onMessage(m: Incoming): void {
    const parsed = parseTopic(m.topic);
    if (!parsed || parsed.fleet !== this.fleet || parsed.gw !== this.gw) return;
    if (parsed.kind === 'cmd') {
      this.#onCommand(m).catch((e) => this.#error(e));
    } else if (parsed.kind === 'state' && !m.retain && this.#running) {
      // A live (non-retained) state of an older session is our previous
      // connection's will arriving after this session's birth (session
      // takeover): it has replaced the retained birth, so publish it again.
      try {
        const s = decodeAs('state', m.payload, { maxPayload: this.#maxPayload });
        if (s.session < this.#session) this.#publishBirth('rebirth').catch((e) => this.#error(e));
      } catch {
        // Someone else's garbage on our state topic is not ours to answer.
      }
    }
  }

  async #onCommand(m: Incoming): Promise<void> {
    const salvage: Salvage = {};
    let cmd: CommandMsg;
    try {
      cmd = decodeAs('cmd', m.payload, { maxPayload: this.#maxPayload }, salvage);
    } catch (err) {
      await this.#reply(this.#replyTarget(salvage.replyTo, m), this.#errorReply(salvage.id ?? null, salvage.kind, err), m);
      return;
    }
    const target = this.#replyTarget(cmd.replyTo, m);
    if (target !== cmd.replyTo) {
      const err = fleetError(FLEET_BAD_FIELD, `replyTo ${JSON.stringify(cmd.replyTo)} is not under ${replyPrefix(this.fleet, this.gw)}`, 'replyTo');
      await this.#reply(target, this.#errorReply(cmd.id, cmd.kind, err), m);
      return;
    }
    // Authenticity first: nothing unauthenticated may touch the idempotency cache.
    if (this.#trust) {
      try {
        await verifyCommand(cmd, this.fleet, this.gw, this.#trust);
      } catch (err) {
        await this.#reply(target, this.#errorReply(cmd.id, cmd.kind, err), m);
        return;
      }
    }
    const fingerprint = fingerprintOf(encodeValue([cmd.kind, cmd.args]));
    const hit = this.#cache.get(cmd.id);
    if (hit) {
      const reply = hit.fingerprint === fingerprint
        ? await hit.reply
        : this.#errorReply(cmd.id, cmd.kind, fleetError(FLEET_ID_REUSED, `command id ${cmd.id} was already used for a different ${cmd.kind} command`, 'id'));
      await this.#reply(target, reply, m);
      return;
    }
    if (this.#trust && cmd.sig) {
      try {
        this.#replay.check(cmd.sig.nonce, cmd.sig.exp, this.clock.now());
      } catch (err) {
        await this.#reply(target, this.#errorReply(cmd.id, cmd.kind, err), m);
        return;
      }
    }
    const entry: CacheEntry = { fingerprint, reply: this.#enqueue(cmd), settled: false };
    this.#remember(cmd.id, entry);
    const reply = await entry.reply;
    entry.settled = true;
    await this.#reply(target, reply, m);
  }

  /** Commands run strictly one after another, so composite ones never interleave. */
  #enqueue(cmd: CommandMsg): Promise<ReplyMsg> {
    const run = async (): Promise<ReplyMsg> => {
      const now = this.clock.now();
      if (now > cmd.deadline) {
        return this.#errorReply(cmd.id, cmd.kind, fleetError(FLEET_TIMEOUT, `command ${cmd.id} (${cmd.kind}) reached the agent ${now - cmd.deadline} ms after its deadline; not executed`, 'deadline'));
      }
      try {
        const handler = HANDLERS[cmd.kind] as Handler<CommandKind>;
        const result = await handler(this, cmd.args, cmd);
        return { v: SCHEMA_VERSION, t: 'reply', id: cmd.id, gw: this.gw, kind: cmd.kind, ok: true, result, ts: this.clock.now() };
      } catch (err) {
        return this.#errorReply(cmd.id, cmd.kind, err);
      }
    };
    const p = this.#queue.then(run, run);
    this.#queue = p;
    return p;
  }

  #remember(id: string, entry: CacheEntry): void {
    this.#cache.set(id, entry);
    const max = this.#opts.idempotencyEntries ?? 1024;
    if (this.#cache.size <= max) return;
    for (const [k, e] of this.#cache) {
      if (this.#cache.size <= max) break;
      if (e.settled) this.#cache.delete(k);
    }
  }

  #replyTarget(replyTo: string | undefined, m: Incoming): string {
    const prefix = replyPrefix(this.fleet, this.gw);
    const ok = (t: string | undefined): t is string => t !== undefined && t.startsWith(prefix) && parseTopic(t)?.kind === 'reply';
    if (ok(replyTo)) return replyTo;
    if (ok(m.responseTopic)) return m.responseTopic;
    return replyTopic(this.fleet, this.gw, INVALID_REPLY_ID);
  }

  #errorReply(id: string | null, kind: string | undefined, err: unknown): ReplyMsg {
    const r: ReplyMsg = { v: SCHEMA_VERSION, t: 'reply', id, gw: this.gw, ok: false, error: toErrorBody(err), ts: this.clock.now() };
    if (kind !== undefined) r.kind = kind;
    return r;
  }

  async #reply(topic: string, reply: ReplyMsg, m: Incoming): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = encodeMessage(reply, { maxPayload: this.#maxPayload });
    } catch (err) {
      payload = encodeMessage(this.#errorReply(reply.id, reply.kind, err));
    }
    await this.#publish(topic, payload, false, m.correlationData ? { correlationData: m.correlationData } : undefined);
  }

  // ---- host events: state changes, consoles, guest telemetry ----------------

  #onHostEvent(e: HostEvent): void {
    if (!this.#running) return;
    if (e.type === 'state') {
      this.#publishState(true, 'change').catch((err) => this.#error(err));
    } else if (e.type === 'console') {
      const c = this.#consoleOf(e.name);
      const granted = c.bucket.take(e.data.length, this.clock.now());
      if (granted > 0) c.buf.push(granted === e.data.length ? e.data.slice() : e.data.slice(0, granted));
      c.dropped += e.data.length - granted;
    } else if (e.type === 'telemetry') {
      this.#onGuestTelemetry(e.name, e.data, e.topic);
    }
  }

  #consoleOf(name: string): { bucket: TokenBucket; buf: Uint8Array[]; dropped: number; seq: number } {
    let c = this.#consoles.get(name);
    if (!c) {
      const o = this.#opts.console ?? {};
      c = { bucket: new TokenBucket(o.bytesPerSecond ?? 4096, o.burstBytes ?? 16384, this.clock.now()), buf: [], dropped: 0, seq: 0 };
      this.#consoles.set(name, c);
    }
    return c;
  }

  #scheduleFlush(): void {
    if (!this.#running) return;
    this.#flushTimer = this.clock.setTimeout(() => {
      this.#flushConsoles().catch((e) => this.#error(e)).finally(() => this.#scheduleFlush());
    }, this.#opts.console?.flushMs ?? 50);
  }

  async #flushConsoles(): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const [name, c] of this.#consoles) {
      if (c.buf.length === 0 && c.dropped === 0) continue;
      const data = concat(c.buf);
      c.buf = [];
      const msg: ConsoleMsg = { v: SCHEMA_VERSION, t: 'console', gw: this.gw, p: name, session: this.#session, seq: c.seq++, data, dropped: c.dropped };
      c.dropped = 0;
      sends.push(this.#publish(consoleTopic(this.fleet, this.gw, name), encodeMessage(msg, { maxPayload: this.#maxPayload })));
    }
    await Promise.all(sends);
  }

  #onGuestTelemetry(name: string, data: Uint8Array, topic: string | undefined): void {
    let g = this.#guestTelemetry.get(name);
    if (!g) {
      const o = this.#opts.guestTelemetry ?? {};
      g = { bucket: new TokenBucket(o.messagesPerSecond ?? 10, o.burst ?? 20, this.clock.now()), dropped: 0 };
      this.#guestTelemetry.set(name, g);
    }
    if (g.bucket.take(1, this.clock.now()) === 0) {
      g.dropped += 1;
      return;
    }
    const msg: TelemetryMsg = {
      v: SCHEMA_VERSION, t: 'telemetry', gw: this.gw, session: this.#session, seq: this.#seq++, ts: this.clock.now(), p: name, data: data.slice(), dropped: g.dropped,
    };
    if (topic !== undefined) msg.topic = topic.slice(0, 64);
    g.dropped = 0;
    let payload: Uint8Array;
    try {
      payload = encodeMessage(msg, { maxPayload: this.#maxPayload });
    } catch (err) {
      this.#error(err);
      return;
    }
    this.#publish(telemetryTopic(this.fleet, this.gw), payload).catch((err) => this.#error(err));
  }

  // ---- helpers used by the handlers -------------------------------------------

  report(name: string): PartitionReport {
    const p = this.host.partitions().find((r) => r.name === name);
    if (!p) throw fleetError(FLEET_NOT_FOUND, `partition ${name} does not exist on gateway ${this.gw}`, 'args.name');
    return p;
  }

  has(name: string): boolean {
    return this.host.partitions().some((r) => r.name === name);
  }

  async imageTrustCheck(image: Uint8Array, sig: CommandArgs['deploy']['imageSig']): Promise<void> {
    if (this.#imageTrust) await verifyImage(image, sig, this.#imageTrust);
  }

  /** The bytes of an inline or uploaded blob, checked against its digest. The transfer is consumed only by `dropTransfer`. */
  async blob(ref: { doc?: Uint8Array; transfer?: string; digest?: string }, what: string): Promise<Uint8Array> {
    let bytes: Uint8Array;
    if (ref.transfer !== undefined) {
      const t = this.#liveTransfer(ref.transfer);
      if (t.received !== t.count) throw fleetError(FLEET_BAD_STATE, `transfer ${ref.transfer} has ${t.received} of ${t.count} chunks`, 'args.transfer');
      bytes = concat(t.chunks as Uint8Array[]);
    } else {
      bytes = ref.doc!;
    }
    if (ref.digest !== undefined) {
      const d = await sha256Hex(bytes);
      if (d !== ref.digest) throw fleetError(FLEET_DIGEST_MISMATCH, `${what} of ${bytes.length} bytes hashes to ${d}, not the announced ${ref.digest}`, 'args.digest');
    }
    return bytes;
  }

  dropTransfer(id: string | undefined): void {
    if (id !== undefined) this.#transfers.delete(id);
  }

  #liveTransfer(id: string): Transfer {
    const now = this.clock.now();
    for (const [k, t] of this.#transfers) if (t.expires <= now) this.#transfers.delete(k);
    const t = this.#transfers.get(id);
    if (!t) throw fleetError(FLEET_NOT_FOUND, `transfer ${id} is unknown or expired`, 'args.transfer');
    return t;
  }

  putChunk(a: CommandArgs['chunk-put']): CommandResults['chunk-put'] {
    let t = this.#transfers.get(a.transfer);
    if (t && t.count !== a.count) throw fleetError(FLEET_BAD_FIELD, `transfer ${a.transfer} has ${t.count} chunks, not ${a.count}`, 'args.count');
    if (!t) {
      t = { count: a.count, chunks: new Array(a.count), received: 0, expires: 0 };
      this.#transfers.set(a.transfer, t);
    }
    t.expires = this.clock.now() + (this.#opts.transferTtlMs ?? 5 * 60_000);
    if (t.chunks[a.index] === undefined) t.received += 1;
    t.chunks[a.index] = a.data;
    return { transfer: a.transfer, received: t.received, count: t.count };
  }

  getChunk(a: CommandArgs['chunk-get']): CommandResults['chunk-get'] {
    const t = this.#liveTransfer(a.transfer);
    const data = t.chunks[a.index];
    if (data === undefined) throw fleetError(FLEET_NOT_FOUND, `transfer ${a.transfer} has no chunk ${a.index} (count ${t.count})`, 'args.index');
    t.expires = this.clock.now() + (this.#opts.transferTtlMs ?? 5 * 60_000);
    return { data, count: t.count };
  }

  /** Small blobs inline; large ones become a transfer named after the command, fetched with chunk-get. */
  async blobResult(doc: Uint8Array, id: string): Promise<BlobResult> {
    const digest = await sha256Hex(doc);
    const chunkSize = this.#opts.chunkSize ?? 256 * 1024;
    if (doc.length <= chunkSize) return { digest, size: doc.length, doc };
    const count = Math.ceil(doc.length / chunkSize);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < count; i++) chunks.push(doc.subarray(i * chunkSize, (i + 1) * chunkSize));
    this.#transfers.set(id, { count, chunks, received: count, expires: this.clock.now() + (this.#opts.transferTtlMs ?? 5 * 60_000) });
    return { digest, size: doc.length, transfer: id, chunks: count, chunkSize };
  }

  rebirth(): Promise<void> {
    return this.#publishBirth('rebirth');
  }
}

/**
 * What the idempotency cache compares: equal content, equal fingerprint. It
 * must be synchronous (an await between the cache lookup and the insert would
 * let two concurrent deliveries both miss) and small (the cache holds 1024 of
 * them; a hex copy of a 256 KiB chunk-put cost ~50 ms and 512 KB each). Not
 * cryptographic: a collision could only hand a different command that reuses
 * an id the first one's stored reply, never run it.
 */
function fingerprintOf(bytes: Uint8Array): string {
  let h1 = 0x811c9dc5;
  let h2 = bytes.length | 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ (h2 >>> 13), 0x5bd1e995) + b | 0;
  }
  return `${bytes.length}:${(h1 >>> 0).toString(16)}:${(h2 >>> 0).toString(16)}`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
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

/** Snapshot a partition whatever its state: a running one is paused around it and resumed even on failure. */
async function snapshotOf(agent: Agent, name: string): Promise<Uint8Array> {
  if (agent.report(name).state !== 'running') return agent.host.snapshot(name);
  await agent.host.pause(name);
  try {
    return await agent.host.snapshot(name);
  } finally {
    await agent.host.resume(name);
  }
}

async function restoreFrom(agent: Agent, a: RestoreArgs, mustBeNew: boolean): Promise<{ partition: PartitionReport }> {
  if (mustBeNew && agent.has(a.name)) throw fleetError(FLEET_EXISTS, `partition ${a.name} already exists on gateway ${agent.gw}`, 'args.name');
  const doc = await agent.blob(a, `snapshot for ${a.name}`);
  await agent.host.restore(a.name, doc);
  agent.dropTransfer(a.transfer);
  return { partition: agent.report(a.name) };
}

const lifecycle = (op: 'start' | 'pause' | 'resume' | 'stop') =>
  async (agent: Agent, a: { name: string }): Promise<{ partition: PartitionReport }> => {
    agent.report(a.name);
    await agent.host[op](a.name);
    return { partition: agent.report(a.name) };
  };

/** One handler per command kind; each either completes or leaves the host as it found it. */
const HANDLERS: { [K in CommandKind]: Handler<K> } = {
  async deploy(agent, a) {
    if (agent.has(a.name)) throw fleetError(FLEET_EXISTS, `partition ${a.name} already exists on gateway ${agent.gw}`, 'args.name');
    const image = await agent.blob({ doc: a.image, transfer: a.transfer, digest: a.digest }, `image for ${a.name}`);
    await agent.imageTrustCheck(image, a.imageSig);
    await agent.host.deploy({ name: a.name, image, profile: a.profile, isa: a.isa, ramSize: a.ramSize, ...(a.windows ? { windows: a.windows } : {}) });
    if (a.start) {
      try {
        await agent.host.start(a.name);
      } catch (err) {
        await agent.host.destroy(a.name);
        throw err;
      }
    }
    agent.dropTransfer(a.transfer);
    return { partition: agent.report(a.name) };
  },
  start: lifecycle('start'),
  pause: lifecycle('pause'),
  resume: lifecycle('resume'),
  stop: lifecycle('stop'),
  async destroy(agent, a) {
    agent.report(a.name);
    await agent.host.destroy(a.name);
    return { name: a.name };
  },
  async snapshot(agent, a, cmd) {
    return agent.blobResult(await snapshotOf(agent, a.name), cmd.id);
  },
  restore: (agent, a) => restoreFrom(agent, a, false),
  async 'migrate-out'(agent, a, cmd) {
    const state = agent.report(a.name).state;
    if (state !== 'running' && state !== 'paused') throw fleetError(FLEET_BAD_STATE, `partition ${a.name} is ${state}; only a running or paused partition migrates`, 'args.name');
    if (state === 'running') await agent.host.pause(a.name);
    try {
      return await agent.blobResult(await agent.host.snapshot(a.name), cmd.id);
    } catch (err) {
      if (state === 'running') await agent.host.resume(a.name);
      throw err;
    }
  },
  'migrate-in': (agent, a) => restoreFrom(agent, a, true),
  async 'update-schedule'(agent, a) {
    await agent.host.updateSchedule(a);
    return { majorFrame: a.majorFrame };
  },
  async rebirth(agent) {
    await agent.rebirth();
    return { session: agent.session, seq: agent.seq - 1 };
  },
  'chunk-put': async (agent, a) => agent.putChunk(a),
  'chunk-get': async (agent, a) => agent.getChunk(a),
};

export type { DeploySpec, GatewayHost, HostEvent } from './host.ts';
