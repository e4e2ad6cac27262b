/**
 * The compiling tier: one hart's cache of translated code regions and the
 * dispatcher that runs them. Opt-in and tree-shakable: the hart only knows
 * the `CompiledTier` interface; importing this module is what pulls in the
 * translator.
 *
 * Design, chosen by measurement (docs/ARCHITECTURE.md, "Performance tiers"):
 * one `new Function` per 512-byte code region holding the region's blocks that
 * have run (plus already-run code its branches reach nearby) in a
 * `for (;;) switch (block)` loop with guest registers in JS locals, so loops
 * run inside one JS function. The interpreter runs first; a region is
 * translated after the hart has started `threshold` interpreter chunks in it
 * (sampling, no per-instruction counters). The cache is per hart (so per
 * partition), holds at most `maxRegions` regions and is cleared when full.
 */

import type { CompiledTier, Hart } from '../hart.ts';
import { PAGE_CODE } from '../../memory/bus.ts';
import { EXIT_BUDGET, EXIT_JUMP, EXIT_MISS, EXIT_SLOW, REGION_SHIFT, translate } from './translate.ts';
import type { RamLayout } from './translate.ts';
import { mulh, mulhsu, mulhu } from '../_mul.ts';

/** Options for {@link attachCompiler}: when code gets translated and how much is kept. */
export interface CompilerOptions {
  /** Interpreter chunks started in a page before it is translated (default 8). */
  threshold?: number;
  /** Translated pages kept per hart before the cache is cleared (default 256 = 1 MiB of guest code). */
  maxRegions?: number;
  /**
   * Mark the generated code "use asm" where the RAM buffer is a valid asm.js heap
   * (default false). V8 then compiles it ahead of time to WebAssembly: no
   * speculation, no deoptimization, steady speed from the first call, but about
   * 0.3-0.8x the speed plain JavaScript reaches once V8 has optimized it (measured,
   * docs/ARCHITECTURE.md "Performance tiers").
   */
  asm?: boolean;
}

/** Translated code in plain JavaScript: RAM views, budget, entry pc, x1..x31 in; instructions retired out. */
type RegionFn = (ram: Uint8Array, ram16: Int16Array, ram32: Int32Array, lim: number, pc: number, ...regs: number[]) => number;
/** The same as an asm.js module's export, which views its heap itself. */
type AsmRegionFn = (lim: number, pc: number, ...regs: number[]) => number;
type Factory = (stdlib: unknown, foreign: unknown, heap: ArrayBuffer) => AsmRegionFn;

/** Entry points remembered per page (a bound on translation work). */
const MAX_ENTRIES = 384;
/**
 * Interpreter chunk boundaries are arbitrary pcs; a few of them seed a page's
 * first translation (the traversal finds the real block starts from there),
 * later entries come only from jumps.
 */
const SEEDS = 4;
/** Single interpreter steps tried to reach a block start before a pc counts as a new entry. */
const MAX_STEPPING = 64;
/**
 * Most instructions one call of translated code may run. Short calls let V8
 * run its regular optimized code from the function entry; one long call lives
 * in an on-stack-replaced frame, and after a deoptimization it stays in the
 * bytecode interpreter until the next OSR compile (measured: a coremark VM
 * run in 1M-instruction slices reached 18-420 MIPS, in 1k slices 1,100).
 */
const CALL_SLICE = 4096;
/** Interpreter chunk when no translated code is near. */
const CHUNK = 64;
/** Upper bound of the per-page threshold after repeated invalidation (back-off for self-modifying code). */
const MAX_THRESHOLD = 1 << 20;

let supported: boolean | undefined;

/**
 * Where translated code leaves the exit reason, pc and registers: [why, pc, x1..x31].
 * One process-wide buffer and one `done` function for every hart, so the call
 * target V8 inlines into a translation shared by several harts (see `plainFns`)
 * is the same for all of them (a per-hart closure deoptimized the shared code at
 * every new VM: "wrong call target").
 */
const exitState = /* @__PURE__ */ new Int32Array(33);

const FOREIGN = {
  mulh, mulhsu, mulhu,
  done(why: number, pc: number, r1: number, r2: number, r3: number, r4: number, r5: number, r6: number, r7: number,
    r8: number, r9: number, r10: number, r11: number, r12: number, r13: number, r14: number, r15: number,
    r16: number, r17: number, r18: number, r19: number, r20: number, r21: number, r22: number, r23: number,
    r24: number, r25: number, r26: number, r27: number, r28: number, r29: number, r30: number, r31: number): void {
    const s = exitState;
    s[0] = why; s[1] = pc;
    s[2] = r1; s[3] = r2; s[4] = r3; s[5] = r4; s[6] = r5; s[7] = r6; s[8] = r7; s[9] = r8;
    s[10] = r9; s[11] = r10; s[12] = r11; s[13] = r12; s[14] = r13; s[15] = r14; s[16] = r15; s[17] = r16;
    s[18] = r17; s[19] = r18; s[20] = r19; s[21] = r20; s[22] = r21; s[23] = r22; s[24] = r23; s[25] = r24;
    s[26] = r25; s[27] = r26; s[28] = r27; s[29] = r28; s[30] = r29; s[31] = r30; s[32] = r31;
  },
};

/**
 * Process-wide caches of generated code by source text. Translations are pure
 * functions of the guest code, so a fresh VM, a retranslated page or another
 * partition running the same image reuses them. A plain region function holds
 * nothing of any VM (the RAM views are arguments), so all harts call the very
 * same function: V8 gathers one set of type feedback and keeps one optimized
 * code object for it, and warm-up is paid once per process, not per hart. (An
 * asm.js module views its heap itself, so each hart links its own instance.)
 */
const plainFns = new Map<string, RegionFn>();
const asmFactories = new Map<string, Factory>();
const MAX_CACHED = 2048;

function cached<T>(cache: Map<string, T>, source: string, make: () => T): T {
  let f = cache.get(source);
  if (f === undefined) {
    if (cache.size >= MAX_CACHED) cache.clear();
    f = make();
    cache.set(source, f);
  }
  return f;
}

/**
 * Whether this runtime lets us generate code (`new Function`); false under a
 * strict Content Security Policy. Tried once, then remembered.
 */
export function compilerSupported(): boolean {
  if (supported === undefined) {
    try {
      supported = new Function('return 1')() === 1;
    } catch {
      supported = false;
    }
  }
  return supported;
}

/**
 * Give `hart` a compiling tier. Returns the compiler, or null (and the hart
 * keeps interpreting) when the runtime forbids code generation.
 */
export function attachCompiler(hart: Hart, options: CompilerOptions = {}): Compiler | null {
  if (!compilerSupported()) return null;
  const ram = hart.bus.ram;
  // The generated code views the whole buffer with 32-bit views.
  if ((ram.byteOffset & 3) !== 0 || (ram.buffer.byteLength & 3) !== 0) return null;
  const c = new Compiler(hart, options);
  hart.setTier(c);
  return c;
}

export class Compiler implements CompiledTier {
  readonly hart: Hart;
  /** Pages translated since creation (recompiles included). */
  translations = 0;
  /** Times the cache was cleared because it was full. */
  evictions = 0;
  /** Calls into translated code, and exits by reason (EXIT_JUMP, SLOW, MISS, BUDGET). */
  calls = 0;
  readonly exits = new Float64Array(4);

  private readonly fns: (RegionFn | null)[];
  private readonly heat: Int32Array;
  private readonly threshold: Int32Array;
  private readonly entries: (number[] | null)[];
  /** Guest range [lo, hi) covered by each page's translation (RAM offsets), for precise invalidation. */
  private readonly covered: Int32Array;
  private readonly heap: ArrayBuffer;
  /** Page flags the live translations were made with. */
  private readonly flagsSeen: Uint8Array;
  private readonly layout: RamLayout;
  private readonly maxRegions: number;
  /** Regions with a translation. */
  private readonly liveSet = new Set<number>();
  private readonly hasRun: (pc: number) => boolean;
  private stepping = 0;
  /** How many instructions the interpreter should run before calling run() again. */
  interpretNext = CHUNK;

  constructor(hart: Hart, options: CompilerOptions = {}) {
    this.hart = hart;
    const bus = hart.bus;
    const regions = (bus.ramSize + (1 << REGION_SHIFT) - 1) >>> REGION_SHIFT;
    this.fns = new Array<RegionFn | null>(regions).fill(null);
    this.heat = new Int32Array(regions);
    this.threshold = new Int32Array(regions).fill(Math.max(1, options.threshold ?? 8));
    this.entries = new Array<number[] | null>(regions).fill(null);
    this.covered = new Int32Array(regions * 2);
    this.maxRegions = Math.max(1, options.maxRegions ?? 256);
    const heap = bus.ram.buffer as ArrayBuffer;
    this.heap = heap;
    this.layout = {
      ram: bus.ram, ramBase: bus.ramBase, ramSize: bus.ramSize, allowC: hart.isa === 'rv32imac',
      heapOffset: bus.ram.byteOffset, pageFlags: bus.pageFlags, asm: (options.asm ?? false) && asmHeap(heap),
    };
    this.flagsSeen = new Uint8Array(bus.pageFlags.length);
    this.hasRun = (pc) => hart.hasRun(pc);
  }

  /** Pages currently translated. */
  get regions(): number {
    return this.liveSet.size;
  }

  /**
   * Run translated code from hart.pc for at most `limit` instructions; returns
   * how many retired (pc, registers and counters are updated). Returns as soon
   * as pc reaches code that is not translated or needs the interpreter.
   */
  run(limit: number): number {
    const h = this.hart;
    const st = exitState;
    const fns = this.fns;
    const ramBase = h.bus.ramBase;
    const ramSize = h.bus.ramSize;
    const ram = h.bus.ram;
    const ram16 = h.bus.ram16;
    const ram32 = h.bus.ram32;
    let pc = h.pc;
    let n = 0;
    // Arrived by a jump from translated code (pc is a real control-flow target), not after the interpreter.
    let jumped = false;
    this.interpretNext = CHUNK;
    for (;;) {
      const off = (pc - ramBase) >>> 0;
      if (off >= ramSize || (pc & 1) !== 0) break;
      const r = off >>> REGION_SHIFT;
      const f = fns[r]!;
      if (f === null) {
        this.heatUp(r, pc, jumped || (this.entries[r]?.length ?? 0) < SEEDS);
        break;
      }
      const x = h.x;
      const left = limit - n;
      const k = f(ram, ram16, ram32, left < CALL_SLICE ? left : CALL_SLICE, pc, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!, x[7]!, x[8]!, x[9]!, x[10]!, x[11]!,
        x[12]!, x[13]!, x[14]!, x[15]!, x[16]!, x[17]!, x[18]!, x[19]!, x[20]!, x[21]!, x[22]!, x[23]!, x[24]!,
        x[25]!, x[26]!, x[27]!, x[28]!, x[29]!, x[30]!, x[31]!);
      n += k;
      for (let i = 1; i < 32; i++) x[i] = st[i + 1]!;
      pc = st[1]! >>> 0;
      const why = st[0]!;
      this.calls++;
      this.exits[why]++;
      if (why === EXIT_JUMP) {
        jumped = true;
        if (n < limit) continue;
        break;
      }
      // Stopped by the slice, not by the budget: go on (a call that made no progress
      // means the next block does not fit the budget: the interpreter finishes it).
      if (why === EXIT_BUDGET && k !== 0 && left > CALL_SLICE && n < limit) continue;
      if (why === EXIT_MISS) {
        if (jumped || k !== 0) {
          this.heatUp(r, pc, true);
        } else if (++this.stepping < MAX_STEPPING) {
          // After the interpreter, pc is usually inside a translated block: step to its end,
          // where a block starts, instead of taking a mid-block pc as a new entry.
          this.interpretNext = 1;
        } else {
          this.stepping = 0;
          this.heatUp(r, pc, true);
        }
      } else if (why === EXIT_SLOW) {
        // The instruction after it starts a block.
        this.interpretNext = 1;
      }
      break;
    }
    if (n !== 0) {
      this.stepping = 0;
      h.pc = pc;
      h.instret += n;
      h.cycle += n;
    }
    return n;
  }

  /** An asm.js instance on this hart's heap, called like a plain region function. */
  private linkAsm(source: string): RegionFn {
    const f = cached(asmFactories, source, () => new Function('stdlib', 'foreign', 'heap', source) as Factory)(globalThis, FOREIGN, this.heap);
    return (_ram, _ram16, _ram32, lim, pc, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16, r17, r18,
      r19, r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31) =>
      f(lim, pc, r1!, r2!, r3!, r4!, r5!, r6!, r7!, r8!, r9!, r10!, r11!, r12!, r13!, r14!, r15!, r16!, r17!, r18!, r19!, r20!,
        r21!, r22!, r23!, r24!, r25!, r26!, r27!, r28!, r29!, r30!, r31!);
  }

  /** RAM bytes [off, off + width) changed: drop translations that cover them. */
  invalidate(off: number, width: number): void {
    // A translation may cover code beyond its own region, so look at every live one.
    for (const r of this.liveSet) {
      if (off + width <= this.covered[2 * r]! || off >= this.covered[2 * r + 1]!) continue;
      this.drop(r);
      // Code that keeps rewriting itself is left to the interpreter for longer each time.
      this.threshold[r] = Math.min(this.threshold[r]! * 2, MAX_THRESHOLD);
    }
  }

  /** Forget every translation (fence.i, reset, snapshot restore). */
  flush(): void {
    for (const r of this.liveSet) this.fns[r] = null;
    this.liveSet.clear();
    this.heat.fill(0);
  }

  private drop(r: number): void {
    this.fns[r] = null;
    this.heat[r] = 0;
    this.liveSet.delete(r);
  }

  /** The interpreter is about to run at `pc` in page `r`: count it, translate when hot. */
  private heatUp(r: number, pc: number, entry: boolean): void {
    let e = this.entries[r];
    if (e === null || e === undefined) e = this.entries[r] = [];
    if (entry && e.length < MAX_ENTRIES && !e.includes(pc | 0)) e.push(pc | 0);
    if (++this.heat[r]! < this.threshold[r]!) return;
    this.compile(r, e);
  }

  private compile(r: number, entries: number[]): void {
    if (this.fns[r] === null && this.liveSet.size >= this.maxRegions) {
      // Clear-on-full: simple, and a working set larger than the cache is re-translated
      // only as it gets hot again.
      this.flush();
      this.evictions++;
    }
    // Stores into this page must reach invalidate() (the hart's decode cache flags it too).
    const flags = this.hart.bus.pageFlags;
    const page = (r << REGION_SHIFT) >>> 12;
    flags[page] = flags[page]! | PAGE_CODE;
    // Translations test stores against the flags they were made with: if any page
    // was flagged since, the live ones are stale.
    if (!sameBytes(flags, this.flagsSeen)) {
      if (this.liveSet.size > 0) this.flush();
      this.flagsSeen.set(flags);
    }
    const t = translate(this.layout, r << REGION_SHIFT, entries, this.hasRun);
    if (this.fns[r] === null) this.liveSet.add(r);
    // A page that keeps finding new entries is retranslated less and less often.
    else this.threshold[r] = Math.min(this.threshold[r]! * 2, MAX_THRESHOLD);
    this.fns[r] = this.layout.asm ? this.linkAsm(t.source) : cached(plainFns, t.source, () =>
      (new Function('foreign', t.source) as (foreign: unknown) => RegionFn)(FOREIGN));
    this.heat[r] = 0;
    this.translations++;
    this.covered[2 * r] = t.lo;
    this.covered[2 * r + 1] = t.hi;
    // Far jump targets are likely entries of their own pages.
    const base = this.layout.ramBase;
    for (const pc of t.external) {
      const off = (pc - base) >>> 0;
      if (off >= this.layout.ramSize) continue;
      const q = off >>> REGION_SHIFT;
      let e = this.entries[q];
      if (e === null || e === undefined) e = this.entries[q] = [];
      if (e.length < MAX_ENTRIES && !e.includes(pc | 0)) e.push(pc | 0);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether V8 (and other engines with asm.js) can link a module to this buffer:
 * a plain ArrayBuffer of 2^n bytes (>= 4 KiB) up to 16 MiB, or a multiple of
 * 16 MiB beyond. Elsewhere the same source runs as ordinary JavaScript.
 */
function asmHeap(buf: ArrayBufferLike): boolean {
  if (typeof ArrayBuffer === 'undefined' || !(buf instanceof ArrayBuffer)) return false;
  const n = buf.byteLength;
  if (n < 4096) return false;
  return n <= 1 << 24 ? (n & (n - 1)) === 0 : n % (1 << 24) === 0;
}
