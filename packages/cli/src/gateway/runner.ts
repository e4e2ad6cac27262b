/**
 * Runs a gateway for `rvisor up`, `restore` and `snapshot`: consoles shown
 * line by line with a partition-name prefix, lifecycle changes on stderr,
 * the loop stopped after N frames, when no partition runs any more, when the
 * whole gateway has been idle for a while, or on Ctrl-C. Ends with a stats
 * summary (a table on stderr, or one JSON object on stdout with --json).
 */
import { writeFileSync } from 'node:fs';
import type { Hypervisor } from '@rvisor/core/hypervisor';
import { EXIT_INTERRUPTED } from '../exit-codes.ts';

export interface GatewayRunOptions {
  frames?: number;
  json: boolean;
  quiet: boolean;
  save?: string;
  /** Frames without a single instruction before the run counts as finished. */
  idleFrames: number;
}

export interface GatewaySummary {
  exitCode: number;
  reason: 'frames' | 'stopped' | 'idle' | 'interrupted';
  frames: number;
  wallMs: number;
  stats: Hypervisor['stats'];
  snapshot?: string;
}

export async function runGateway(hv: Hypervisor, opts: GatewayRunOptions): Promise<number> {
  const out = opts.json ? process.stderr : process.stdout;
  const width = Math.max(...hv.partitions().map((p) => p.name.length));
  const partial = new Map<string, string>();
  const dec = new TextDecoder();
  const emit = (name: string, text: string) => {
    const lines = ((partial.get(name) ?? '') + text).split('\n');
    partial.set(name, lines.pop()!);
    for (const l of lines) out.write(`${name.padEnd(width)} | ${l}\n`);
  };
  hv.events.on('console', (e) => emit(e.partition, dec.decode(e.bytes, { stream: true })));
  if (!opts.quiet) {
    hv.events.on('transition', (e) => {
      const why = e.fault ? `${e.reason}: ${e.fault.message ?? `cause ${e.fault.cause}`}` : e.detail ? `${e.reason}: ${e.detail}` : e.reason;
      process.stderr.write(`rvisor: ${e.partition} ${e.from} -> ${e.to} (${why})\n`);
    });
    hv.events.on('health', (d) => {
      if (d.action !== 'ignore' && d.action !== 'log') process.stderr.write(`rvisor: health: ${d.partition} ${d.event} -> ${d.action}\n`);
    });
  }

  let reason = 'frames' as GatewaySummary['reason'];
  let idle = 0;
  const start = hv.stats.frames;
  hv.events.on('frame', (f) => {
    idle = f.busy === 0 ? idle + 1 : 0;
    if (opts.frames !== undefined) return;
    if (!hv.partitions().some((p) => p.state === 'running')) {
      reason = 'stopped';
      hv.halt();
    } else if (idle >= opts.idleFrames) {
      reason = 'idle';
      hv.halt();
    }
  });
  const onSigint = () => {
    reason = 'interrupted';
    hv.halt();
  };
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  try {
    if (opts.frames === undefined || opts.frames > 0) await hv.run(opts.frames === undefined ? {} : { frames: opts.frames });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const wallMs = performance.now() - t0;
  for (const [name, rest] of partial) if (rest.length > 0) out.write(`${name.padEnd(width)} | ${rest}\n`);

  let snapshot: string | undefined;
  if (opts.save !== undefined) {
    writeFileSync(opts.save, await hv.snapshotGateway());
    snapshot = opts.save;
  }
  const stats = hv.stats;
  const failed = hv.partitions().some((p) => p.state === 'faulted' || p.lifecycle.lastFault !== undefined);
  const exitCode = reason === 'interrupted' ? EXIT_INTERRUPTED : failed ? 1 : 0;
  const summary: GatewaySummary = { exitCode, reason, frames: stats.frames - start, wallMs: Math.round(wallMs), stats, snapshot };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else if (!opts.quiet) {
    const rows = Object.entries(stats.partitions).map(([n, p]) => [n, p.state, p.instructions, p.windows, p.overruns, p.faults, p.restarts]);
    const head = ['partition', 'state', 'instructions', 'windows', 'overruns', 'faults', 'restarts'];
    const all = [head, ...rows.map((r) => r.map(String))];
    const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    process.stderr.write(`rvisor: ${summary.frames} frames in ${summary.wallMs} ms (${reason}), utilisation of the last frame ${(stats.utilisation * 100).toFixed(1)} %\n`);
    for (const r of all) process.stderr.write(`  ${r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}\n`);
    if (snapshot) process.stderr.write(`rvisor: gateway snapshot written to ${snapshot}\n`);
  }
  return exitCode;
}
