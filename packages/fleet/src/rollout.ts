import type { Controller, GatewayView } from './controller.ts';
import { FLEET_BAD_FIELD, FLEET_NOT_FOUND, FLEET_OFFLINE, FleetError, fleetError, toErrorBody } from './protocol/errors.ts';
import type { Isa, PartitionReport, Profile, WindowSpec } from './protocol/schema.ts';
import { checkName } from './protocol/topics.ts';
import { TokenBucket } from './rate-limit.ts';

/*
 * A rollout applies one action to many gateways under a rate limit and stops
 * sending once too many fail (PROTOCOL.md §12). It is controller behaviour
 * built from ordinary commands; the wire protocol is unchanged.
 */

export type RolloutAction = 'deploy' | 'update' | 'start' | 'stop' | 'pause' | 'resume' | 'destroy';

export interface RolloutSpec {
  /** Job id (a name, at most 32 characters): the seed of every command id, so a re-run applies nothing twice. Default: random. */
  id?: string;
  action: RolloutAction;
  /** Partition name on every gateway. */
  name: string;
  /** `deploy` and `update` only. */
  image?: Uint8Array;
  ramSize?: number;
  profile?: Profile;
  isa?: Isa;
  windows?: WindowSpec[];
  /** `deploy` only: start after deploying (default true; `update` always starts). */
  start?: boolean;
  /** In this order; `'all'` or a predicate: the gateways online when the job starts, by name. */
  gateways: string[] | 'all' | ((g: GatewayView) => boolean);
  /** `perSecond` (token bucket with `burst`, default 1) and at most `concurrency` gateways in flight (default 1). */
  rate?: { perSecond?: number; burst?: number; concurrency?: number };
  /** Stop sending once `failures` gateways failed, or more than `failureRatio` of the settled ones did (after `minSettled`, default 1). */
  abortAfter?: { failures?: number; failureRatio?: number; minSettled?: number };
  /** Deadline of each command (default: the controller's `commandTimeoutMs`). */
  timeoutMs?: number;
}

export interface RolloutFailure {
  gw: string;
  code: string;
  message: string;
}

export interface RolloutReport {
  id: string;
  action: RolloutAction;
  name: string;
  /** `aborted` when the threshold was crossed or `abort()` was called (`skipped` may then still be empty). */
  outcome: 'completed' | 'aborted';
  abortReason?: string;
  /** In the order they finished. */
  succeeded: string[];
  failed: RolloutFailure[];
  /** Never attempted (the job was aborted first), in job order. */
  skipped: string[];
  startedAt: number;
  finishedAt: number;
}

export interface RolloutStatus {
  id: string;
  state: 'running' | 'aborting' | 'done';
  /** Not yet attempted. */
  pending: string[];
  inFlight: string[];
  succeeded: number;
  failed: number;
}

export type RolloutEvent =
  | { type: 'started'; gw: string; at: number }
  | { type: 'succeeded'; gw: string; at: number; ms: number; partition?: PartitionReport }
  | { type: 'failed'; gw: string; at: number; ms: number; code: string; message: string }
  | { type: 'aborted'; at: number; reason: string; skipped: string[] }
  | { type: 'done'; report: RolloutReport };

const MAX_JOB_ID = 32;

function randomHex(bytes: number): string {
  let s = '';
  for (const x of globalThis.crypto.getRandomValues(new Uint8Array(bytes))) s += x.toString(16).padStart(2, '0');
  return s;
}

/** 64-bit FNV-style hash as hex: shortens a gateway name inside a command id; only needs to be stable. */
function shortHash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = s.length | 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ (h2 >>> 13), 0x5bd1e995) + c | 0;
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/**
 * The command id of one step of a job on one gateway: `<job>.<gw>.<step>`,
 * with the gateway hashed when the whole would exceed a name's 64 characters.
 * Deterministic, so running the same job id again re-sends the same ids and
 * each agent answers from its idempotency cache instead of applying again.
 */
export function rolloutCommandId(job: string, gw: string, step: string): string {
  const id = `${job}.${gw}.${step}`;
  return id.length <= 64 ? id : `${job}.${shortHash(gw)}.${step}`;
}

function positive(path: string, v: number | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw fleetError(FLEET_BAD_FIELD, `rollout ${path} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`, path);
  }
}

/** A running rollout: events, status(), abort(), and `result` (the final report; never rejects). */
export class Rollout {
  readonly id: string;
  readonly spec: RolloutSpec;
  readonly result: Promise<RolloutReport>;

  readonly #ctl: Controller;
  readonly #listeners = new Set<(e: RolloutEvent) => void>();
  readonly #queue: string[];
  readonly #inFlight = new Set<string>();
  readonly #succeeded: string[] = [];
  readonly #failed: RolloutFailure[] = [];
  #abortReason: string | undefined;
  #done = false;
  #wake: (() => void) | undefined;

  constructor(ctl: Controller, spec: RolloutSpec) {
    const id = checkName('rollout', spec.id ?? `job-${randomHex(6)}`);
    if (id.length > MAX_JOB_ID) throw fleetError(FLEET_BAD_FIELD, `rollout id ${id} is longer than ${MAX_JOB_ID} characters`, 'id');
    checkName('partition', spec.name);
    if (spec.action === 'deploy' || spec.action === 'update') {
      if (!(spec.image instanceof Uint8Array)) throw fleetError(FLEET_BAD_FIELD, `rollout ${spec.action} of ${spec.name} needs an image`, 'image');
      positive('ramSize', spec.ramSize, true);
      if (spec.ramSize === undefined) throw fleetError(FLEET_BAD_FIELD, `rollout ${spec.action} of ${spec.name} needs ramSize`, 'ramSize');
    } else if (!['start', 'stop', 'pause', 'resume', 'destroy'].includes(spec.action)) {
      throw fleetError(FLEET_BAD_FIELD, `unknown rollout action ${JSON.stringify(spec.action)}`, 'action');
    }
    positive('rate.perSecond', spec.rate?.perSecond, false);
    positive('rate.burst', spec.rate?.burst, true);
    positive('rate.concurrency', spec.rate?.concurrency, true);
    positive('abortAfter.failures', spec.abortAfter?.failures, true);
    positive('abortAfter.minSettled', spec.abortAfter?.minSettled, true);
    const ratio = spec.abortAfter?.failureRatio;
    if (ratio !== undefined && !(ratio >= 0 && ratio < 1)) throw fleetError(FLEET_BAD_FIELD, `rollout abortAfter.failureRatio must be in [0, 1), got ${ratio}`, 'abortAfter.failureRatio');
    positive('timeoutMs', spec.timeoutMs, true);
    this.id = id;
    this.spec = spec;
    this.#ctl = ctl;
    this.#queue = selectGateways(ctl, spec.gateways);
    this.result = this.#run();
  }

  on(listener: (e: RolloutEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): RolloutStatus {
    return {
      id: this.id,
      state: this.#done ? 'done' : this.#abortReason !== undefined ? 'aborting' : 'running',
      pending: [...this.#queue],
      inFlight: [...this.#inFlight],
      succeeded: this.#succeeded.length,
      failed: this.#failed.length,
    };
  }

  /** Sends no further commands; those in flight finish and are reported. Nothing applied is undone. */
  abort(reason = 'aborted by the caller'): void {
    if (this.#done || this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#emit({ type: 'aborted', at: this.#ctl.clock.now(), reason, skipped: [...this.#queue] });
    this.#wakeUp();
  }

  #emit(e: RolloutEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the job.
      }
    }
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Until a gateway settles, abort() is called, or `ms` pass. */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = this.#ctl.clock;
      const timer = ms === undefined ? undefined : clock.setTimeout(() => this.#wakeUp(), ms);
      this.#wake = () => { clock.clearTimeout(timer); resolve(); };
    });
  }

  async #run(): Promise<RolloutReport> {
    // Starts after the caller had the chance to attach listeners.
    await Promise.resolve();
    const clock = this.#ctl.clock;
    const startedAt = clock.now();
    const concurrency = this.spec.rate?.concurrency ?? 1;
    const perSecond = this.spec.rate?.perSecond;
    const bucket = perSecond === undefined ? undefined : new TokenBucket(perSecond, this.spec.rate?.burst ?? 1, startedAt);
    while (this.#queue.length > 0 && this.#abortReason === undefined) {
      if (this.#inFlight.size >= concurrency) {
        await this.#sleep();
        continue;
      }
      // One reading for the token and the `started` time, so events show exactly what the bucket allowed.
      const now = clock.now();
      if (bucket) {
        const wait = bucket.msUntil(1, now);
        if (wait > 0 || bucket.take(1, now) === 0) {
          await this.#sleep(Math.max(1, wait));
          continue;
        }
      }
      this.#launch(this.#queue.shift()!, now);
    }
    while (this.#inFlight.size > 0) await this.#sleep();
    this.#done = true;
    const report: RolloutReport = {
      id: this.id, action: this.spec.action, name: this.spec.name,
      outcome: this.#abortReason !== undefined ? 'aborted' : 'completed',
      ...(this.#abortReason !== undefined ? { abortReason: this.#abortReason } : {}),
      succeeded: [...this.#succeeded], failed: [...this.#failed], skipped: [...this.#queue],
      startedAt, finishedAt: clock.now(),
    };
    this.#emit({ type: 'done', report });
    return report;
  }

  #launch(gw: string, t0: number): void {
    const clock = this.#ctl.clock;
    this.#inFlight.add(gw);
    this.#emit({ type: 'started', gw, at: t0 });
    this.#apply(gw).then(
      (partition) => {
        this.#succeeded.push(gw);
        const at = clock.now();
        this.#emit({ type: 'succeeded', gw, at, ms: at - t0, ...(partition ? { partition } : {}) });
      },
      (err: unknown) => {
        const { code, message } = toErrorBody(err);
        this.#failed.push({ gw, code, message });
        const at = clock.now();
        this.#emit({ type: 'failed', gw, at, ms: at - t0, code, message });
        this.#checkThreshold();
      },
    ).finally(() => {
      this.#inFlight.delete(gw);
      this.#wakeUp();
    });
  }

  #checkThreshold(): void {
    const a = this.spec.abortAfter;
    if (!a) return;
    const failed = this.#failed.length;
    const settled = failed + this.#succeeded.length;
    if (a.failures !== undefined && failed >= a.failures) {
      this.abort(`${failed} gateway(s) failed (abortAfter.failures = ${a.failures})`);
    } else if (a.failureRatio !== undefined && settled >= (a.minSettled ?? 1) && failed / settled > a.failureRatio) {
      this.abort(`${failed} of ${settled} settled gateways failed (abortAfter.failureRatio = ${a.failureRatio})`);
    }
  }

  /** The action on one gateway; resolves with the partition report where the command returns one. */
  async #apply(gw: string): Promise<PartitionReport | undefined> {
    const ctl = this.#ctl;
    const s = this.spec;
    if (ctl.gateway(gw)?.online !== true) throw fleetError(FLEET_OFFLINE, `gateway ${gw} is not online; ${s.action} of ${s.name} not sent`);
    const id = (step: string): string => rolloutCommandId(this.id, gw, step);
    const opts = (step: string): { id: string; timeoutMs?: number } => ({ id: id(step), ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}) });
    const name = s.name;
    switch (s.action) {
      case 'start':
      case 'stop':
      case 'pause':
      case 'resume':
        return (await ctl.send(gw, s.action, { name }, opts(s.action))).partition;
      case 'destroy':
        await ctl.send(gw, 'destroy', { name }, opts('destroy'));
        return undefined;
      case 'update':
        // Always sent (not only when the view lists the partition), so a re-run finds the id in the cache.
        await ctl.send(gw, 'destroy', { name }, opts('destroy')).catch((err) => {
          if (!(err instanceof FleetError && err.code === FLEET_NOT_FOUND)) throw err;
        });
        return this.#deploy(gw, opts('deploy'), id, true);
      case 'deploy':
        return this.#deploy(gw, opts('deploy'), id, s.start ?? true);
    }
  }

  async #deploy(gw: string, opts: { id: string; timeoutMs?: number }, id: (step: string) => string, start: boolean): Promise<PartitionReport> {
    const s = this.spec;
    const ref = await this.#ctl.stageBlob(gw, s.image!, {
      transfer: id('up'), chunkId: (i) => id(`up${i}`), ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    });
    const r = await this.#ctl.send(gw, 'deploy', {
      name: s.name, ...(ref.doc ? { image: ref.doc } : { transfer: ref.transfer! }), digest: ref.digest,
      profile: s.profile ?? 'app', isa: s.isa ?? 'rv32imac', ramSize: s.ramSize!, ...(s.windows ? { windows: s.windows } : {}), start,
    }, opts);
    return r.partition;
  }
}

function selectGateways(ctl: Controller, sel: RolloutSpec['gateways']): string[] {
  if (Array.isArray(sel)) {
    const seen = new Set<string>();
    for (const gw of sel) seen.add(checkName('gateway', gw));
    return [...seen];
  }
  const pred = sel === 'all' ? () => true : sel;
  if (typeof pred !== 'function') throw fleetError(FLEET_BAD_FIELD, `rollout gateways must be a list, 'all' or a predicate`, 'gateways');
  return ctl.gateways().filter((g) => g.online && pred(g)).map((g) => g.gw).sort();
}
