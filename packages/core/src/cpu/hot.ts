/**
 * The interpreter's inner loop (the hart's fast path), with the state it reads
 * and writes in an object of its own.
 *
 * Its own object because V8 compiles the loop against the map (shape) of
 * `this`: the hart's fields change representation as a guest runs (counters
 * past 2^31 and addresses above it become doubles), and each such change
 * meant a "wrong map" deoptimization, in one case on every return from the
 * loop (crc32: about 700 in one run). These fields only ever hold int32
 * values and the same typed arrays, so this shape never changes.
 *
 * It holds few values on purpose (V8 spills what does not fit in the CPU's
 * registers, and then reloads it on every instruction): registers and decoded
 * code share one array (the process-wide decode arena: the running chunk's
 * registers in its first slots, every hart's decode blocks after them), the
 * loop runs on slot indexes (pc - bias) so it needs no pc, loads and stores
 * get the RAM offset straight from their pre-biased immediate and check
 * alignment and range with one compare, near branches need no check at all.
 * Literal case labels (named in comments) are deliberate: a case on an
 * imported constant is not a compile-time constant to V8, which turns the
 * jump table into a chain of compares. For the same reason other constants
 * appear as literals: 1024 = BLOCK_BYTES, x[40] = the RAM limit's slot
 * (DC_LIMIT). The op ids, the decode-time classes (fused pairs, far branches)
 * and the slot word's layout (the length as the sign bit; immediates inside
 * the word, read as `(w << 1) >> 20`, branch offsets as `(w << 1) >> 19`,
 * branch rs1/rs2 at bits 8/13: slotWord()) are in hart.ts, which fills the
 * decode blocks.
 */

import type { Bus } from '../memory/bus.ts';
import { mulh, mulhsu, mulhu } from './_mul.ts';

/** Int32 slots of the decode arena: 16 MiB, room for about 4,000 decode blocks. */
export const ARENA_SLOTS = 1 << 22;

/**
 * The arena's array is a const in this function's scope, which the loop reads:
 * V8 specializes a function created once to its context, so the array becomes
 * a constant in the optimized loop, with its address and length folded into
 * each access; an array read from an object costs a map check and three loads
 * per instruction (Node: +15 % on the CoreMark-like guest). Not a module-level
 * const because bundlers turn those into `var`s, which V8 cannot fold.
 */
function defineHotLoop() {
  const slots = new Int32Array(ARENA_SLOTS);
  return class HotLoop {
    /** The decode arena's array (cpu/arena.ts hands out its blocks). */
    static readonly slots: Int32Array = slots;

    readonly ram: Uint8Array;
    readonly ram16: Int16Array;
    readonly ram32: Int32Array;
    readonly pageFlags: Uint8Array;
    /**
     * RAM size with the sign bit flipped: RAM offsets are compared unsigned by
     * comparing them signed with the sign bit flipped, int32 on both sides, where
     * a uint32 above 2^31 (a device address below RAM) would make V8 deoptimize
     * or compare as doubles. The loop reads it from the decode arena's slot 40
     * (DC_LIMIT in hart.ts, past the registers): held in a local, V8 kept it
     * tagged in a stack slot and untagged it on every instruction (-4 %).
     */
    readonly ramLimit: number;
    /** Slot of pc (pc - bias) and instructions left: in and out. */
    rel = 0;
    left = 0;
    /** pc - slot, and the first slot of the block the loop runs in: in. */
    bias = 0;
    base = 0;

    constructor(bus: Bus) {
      this.ram = bus.ram;
      this.ram16 = bus.ram16;
      this.ram32 = bus.ram32;
      this.pageFlags = bus.pageFlags;
      this.ramLimit = (bus.ramSize ^ 0x80000000) | 0;
    }

    /**
     * Runs from slot `rel` until `left` is used up or an instruction needs the
     * hart's exec(): a decode miss, a load or store that is not plain RAM, a
     * rare instruction (it stops with rel at that instruction) or a jump into
     * another decode block (it stops after the jump).
     */
    run(): void {
      const dc = slots;
      const x = slots;
      const ram = this.ram;
      const ram16 = this.ram16;
      const ram32 = this.ram32;
      const pageFlags = this.pageFlags;
      // Converted once here, so V8 holds them as plain integers, not as tagged field
      // values untagged again on every use.
      let rel = this.rel | 0;
      let left = this.left | 0;
      // Everything that needs exec() leaves with `break loop`.
      loop: for (;;) {
        if (left <= 0) break;
        const w = dc[rel]!;
        // A branch on the length (predicted) rather than an add of it: the next slot
        // then does not wait for the load of w.
        const nrel = w < 0 ? (rel + 4) | 0 : (rel + 2) | 0;

        switch (w & 0xff) {
          case 20 /* OP_ADDI */: x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! + ((w << 1) >> 20)) | 0; break;
          case 2 /* OP_LUI */: x[(w >>> 8) & 63] = dc[(rel + 1) | 0]!; break;
          case 3 /* OP_AUIPC */: x[(w >>> 8) & 63] = (rel + this.bias + dc[(rel + 1) | 0]!) | 0; break;
          case 21 /* OP_SLTI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! < ((w << 1) >> 20) ? 1 : 0; break;
          case 22 /* OP_SLTIU */: x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! >>> 0) < (((w << 1) >> 20) >>> 0) ? 1 : 0; break;
          case 23 /* OP_XORI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! ^ ((w << 1) >> 20); break;
          case 24 /* OP_ORI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! | ((w << 1) >> 20); break;
          case 25 /* OP_ANDI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! & ((w << 1) >> 20); break;
          case 26 /* OP_SLLI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! << ((w << 1) >> 20); break;
          case 27 /* OP_SRLI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! >>> ((w << 1) >> 20); break;
          case 28 /* OP_SRAI */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! >> ((w << 1) >> 20); break;

          case 29 /* OP_ADD */: x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! + x[(w >>> 19) & 31]!) | 0; break;
          case 30 /* OP_SUB */: x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! - x[(w >>> 19) & 31]!) | 0; break;
          case 31 /* OP_SLL */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! << x[(w >>> 19) & 31]!; break;
          case 32 /* OP_SLT */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! < x[(w >>> 19) & 31]! ? 1 : 0; break;
          case 33 /* OP_SLTU */: x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! >>> 0) < (x[(w >>> 19) & 31]! >>> 0) ? 1 : 0; break;
          case 34 /* OP_XOR */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! ^ x[(w >>> 19) & 31]!; break;
          case 35 /* OP_SRL */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! >>> x[(w >>> 19) & 31]!; break;
          case 36 /* OP_SRA */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! >> x[(w >>> 19) & 31]!; break;
          case 37 /* OP_OR */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! | x[(w >>> 19) & 31]!; break;
          case 38 /* OP_AND */: x[(w >>> 8) & 63] = x[(w >>> 14) & 31]! & x[(w >>> 19) & 31]!; break;

          case 51 /* OP_MUL */: x[(w >>> 8) & 63] = Math.imul(x[(w >>> 14) & 31]!, x[(w >>> 19) & 31]!); break;

          // Fused pairs: the first instruction retires, then the second (now at slot rel)
          // runs here if the budget allows and its slot still holds the expected op;
          // otherwise the loop goes on with it as a single instruction.
          case 71 /* F_ADDI_ADDI */: {
            x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! + ((w << 1) >> 20)) | 0;
            rel = nrel;
            left = (left - 1) | 0;
            const w2 = dc[rel]!;
            if (left <= 0 || (w2 & 0xff) !== 20 /* OP_ADDI */) continue;
            x[(w2 >>> 8) & 63] = (x[(w2 >>> 14) & 31]! + ((w2 << 1) >> 20)) | 0;
            rel = (rel + 2 + ((w2 >>> 31) << 1)) | 0;
            left = (left - 1) | 0;
            continue;
          }
          case 72 /* F_LW_LW */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 30)) ^ 0x80000000) >= x[40]) break loop;
            x[(w >>> 8) & 63] = ram32[off >>> 2]!;
            rel = nrel;
            left = (left - 1) | 0;
            const w2 = dc[rel]!;
            if (left <= 0 || (w2 & 0xff) !== 14 /* OP_LW */) continue;
            const off2 = (x[(w2 >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off2 | (off2 << 30)) ^ 0x80000000) >= x[40]) continue;
            x[(w2 >>> 8) & 63] = ram32[off2 >>> 2]!;
            rel = (rel + 2 + ((w2 >>> 31) << 1)) | 0;
            left = (left - 1) | 0;
            continue;
          }
          case 73 /* F_LH_LH */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 31)) ^ 0x80000000) >= x[40]) break loop;
            x[(w >>> 8) & 63] = ram16[off >>> 1]!;
            rel = nrel;
            left = (left - 1) | 0;
            const w2 = dc[rel]!;
            if (left <= 0 || (w2 & 0xff) !== 13 /* OP_LH */) continue;
            const off2 = (x[(w2 >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off2 | (off2 << 31)) ^ 0x80000000) >= x[40]) continue;
            x[(w2 >>> 8) & 63] = ram16[off2 >>> 1]!;
            rel = (rel + 2 + ((w2 >>> 31) << 1)) | 0;
            left = (left - 1) | 0;
            continue;
          }
          case 74 /* F_MUL_ADD */: {
            x[(w >>> 8) & 63] = Math.imul(x[(w >>> 14) & 31]!, x[(w >>> 19) & 31]!);
            rel = nrel;
            left = (left - 1) | 0;
            const w2 = dc[rel]!;
            if (left <= 0 || (w2 & 0xff) !== 29 /* OP_ADD */) continue;
            x[(w2 >>> 8) & 63] = (x[(w2 >>> 14) & 31]! + x[(w2 >>> 19) & 31]!) | 0;
            rel = (rel + 2 + ((w2 >>> 31) << 1)) | 0;
            left = (left - 1) | 0;
            continue;
          }
          case 75 /* F_ADD_BNE */:
          case 76 /* F_ADDI_BNE */: {
            x[(w >>> 8) & 63] = (x[(w >>> 14) & 31]! + ((w & 0xff) === 75 ? x[(w >>> 19) & 31]! : (w << 1) >> 20)) | 0;
            rel = nrel;
            left = (left - 1) | 0;
            const w2 = dc[rel]!;
            // Only a near bne pairs (fill() decides), so a taken one stays in the block.
            if (left <= 0 || (w2 & 0xff) !== 7 /* OP_BNE */) continue;
            rel = x[(w2 >>> 8) & 31] !== x[(w2 >>> 13) & 31] ? (rel + ((w2 << 1) >> 19)) | 0 : (rel + 2 + ((w2 >>> 31) << 1)) | 0;
            left = (left - 1) | 0;
            continue;
          }
          case 52 /* OP_MULH */: x[(w >>> 8) & 63] = mulh(x[(w >>> 14) & 31]!, x[(w >>> 19) & 31]!); break;
          case 53 /* OP_MULHSU */: x[(w >>> 8) & 63] = mulhsu(x[(w >>> 14) & 31]!, x[(w >>> 19) & 31]!); break;
          case 54 /* OP_MULHU */: x[(w >>> 8) & 63] = mulhu(x[(w >>> 14) & 31]!, x[(w >>> 19) & 31]!); break;
          case 55 /* OP_DIV */: {
            const a = x[(w >>> 14) & 31]!, b = x[(w >>> 19) & 31]!;
            // Division by zero gives -1; overflow (-2^31 / -1) gives -2^31: (a / b) | 0 does both.
            x[(w >>> 8) & 63] = b === 0 ? -1 : (a / b) | 0;
            break;
          }
          case 56 /* OP_DIVU */: {
            const a = x[(w >>> 14) & 31]! >>> 0, b = x[(w >>> 19) & 31]! >>> 0;
            x[(w >>> 8) & 63] = b === 0 ? -1 : (a / b) | 0;
            break;
          }
          case 57 /* OP_REM */: {
            const a = x[(w >>> 14) & 31]!, b = x[(w >>> 19) & 31]!;
            x[(w >>> 8) & 63] = b === 0 ? a : (a % b) | 0;
            break;
          }
          case 58 /* OP_REMU */: {
            const a = x[(w >>> 14) & 31]! >>> 0, b = x[(w >>> 19) & 31]! >>> 0;
            x[(w >>> 8) & 63] = b === 0 ? a : (a % b) | 0;
            break;
          }

          // Jumps and branches: fill() gives those whose target is in another block
          // the far ids (op + 73), so a near one needs no check at all.
          case 4 /* OP_JAL */:
            x[(w >>> 8) & 63] = (nrel + this.bias) | 0;
            rel = (rel + ((w << 1) >> 20)) | 0;
            left = (left - 1) | 0;
            continue;
          case 77 /* far OP_JAL */:
            x[(w >>> 8) & 63] = (nrel + this.bias) | 0;
            rel = (rel + dc[(rel + 1) | 0]!) | 0;
            left = (left - 1) | 0;
            break loop;
          case 5 /* OP_JALR */: {
            const t = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) & ~1;
            // Without C, fill() put 2 in the unused rs2 field: a 2-mod-4 target traps (in cold()).
            if ((t & (w >>> 19) & 31) !== 0) break loop;
            x[(w >>> 8) & 63] = (nrel + this.bias) | 0;
            rel = (t - this.bias) | 0;
            left = (left - 1) | 0;
            // The block's first slot from its field, not a local: one less value for the loop to hold.
            if (((rel - this.base) >>> 0) >= 1024) break loop;
            continue;
          }
          case 6 /* OP_BEQ */:
            if (x[(w >>> 8) & 31] === x[(w >>> 13) & 31]) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 7 /* OP_BNE */:
            if (x[(w >>> 8) & 31] !== x[(w >>> 13) & 31]) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 8 /* OP_BLT */:
            if (x[(w >>> 8) & 31]! < x[(w >>> 13) & 31]!) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 9 /* OP_BGE */:
            if (x[(w >>> 8) & 31]! >= x[(w >>> 13) & 31]!) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 10 /* OP_BLTU */:
            if ((x[(w >>> 8) & 31]! >>> 0) < (x[(w >>> 13) & 31]! >>> 0)) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 11 /* OP_BGEU */:
            if ((x[(w >>> 8) & 31]! >>> 0) >= (x[(w >>> 13) & 31]! >>> 0)) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; continue; }
            break;
          case 79 /* far OP_BEQ */:
            if (x[(w >>> 8) & 31] === x[(w >>> 13) & 31]) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;
          case 80 /* far OP_BNE */:
            if (x[(w >>> 8) & 31] !== x[(w >>> 13) & 31]) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;
          case 81 /* far OP_BLT */:
            if (x[(w >>> 8) & 31]! < x[(w >>> 13) & 31]!) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;
          case 82 /* far OP_BGE */:
            if (x[(w >>> 8) & 31]! >= x[(w >>> 13) & 31]!) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;
          case 83 /* far OP_BLTU */:
            if ((x[(w >>> 8) & 31]! >>> 0) < (x[(w >>> 13) & 31]! >>> 0)) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;
          case 84 /* far OP_BGEU */:
            if ((x[(w >>> 8) & 31]! >>> 0) >= (x[(w >>> 13) & 31]! >>> 0)) { rel = (rel + ((w << 1) >> 19)) | 0; left = (left - 1) | 0; break loop; }
            break;

          // Loads and stores: fill() stores their immediate minus ramBase, so the sum is
          // the RAM offset. Shifting the alignment bits to the top folds the alignment
          // and range checks into one compare (RAM is at most 1 GiB, a multiple of 4).
          case 14 /* OP_LW */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 30)) ^ 0x80000000) >= x[40]) break loop;
            x[(w >>> 8) & 63] = ram32[off >>> 2]!;
            break;
          }
          case 13 /* OP_LH */:
          case 16 /* OP_LHU */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 31)) ^ 0x80000000) >= x[40]) break loop;
            const v = ram16[off >>> 1]!;
            x[(w >>> 8) & 63] = (w & 0xff) === 13 /* OP_LH */ ? v : v & 0xffff;
            break;
          }
          case 12 /* OP_LB */:
          case 15 /* OP_LBU */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if ((off ^ 0x80000000) >= x[40]) break loop;
            const v = ram[off]!;
            x[(w >>> 8) & 63] = (w & 0xff) === 12 /* OP_LB */ ? (v << 24) >> 24 : v;
            break;
          }
          // Stores into flagged pages (decoded code, watched pages) take the slow path.
          case 19 /* OP_SW */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 30)) ^ 0x80000000) >= x[40] || pageFlags[off >>> 12] !== 0) break loop;
            ram32[off >>> 2] = x[(w >>> 19) & 31]!;
            break;
          }
          case 18 /* OP_SH */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if (((off | (off << 31)) ^ 0x80000000) >= x[40] || pageFlags[off >>> 12] !== 0) break loop;
            ram16[off >>> 1] = x[(w >>> 19) & 31]!;
            break;
          }
          case 17 /* OP_SB */: {
            const off = (x[(w >>> 14) & 31]! + dc[(rel + 1) | 0]!) | 0;
            if ((off ^ 0x80000000) >= x[40] || pageFlags[off >>> 12] !== 0) break loop;
            ram[off] = x[(w >>> 19) & 31]!;
            break;
          }

          case 39 /* OP_FENCE */:
            break;

          // Listed so that the jump table starts at 0 (no subtraction per dispatch).
          case 0 /* OP_UNDECODED */:
          case 1 /* OP_ILLEGAL */:
          default:
            // OP_UNDECODED, OP_BLOCK_END and everything rare: handled in exec().
            break loop;
        }
        rel = nrel;
        left = (left - 1) | 0;
      }
      this.rel = rel;
      this.left = left;
    }
  };
}

export const HotLoop = /* @__PURE__ */ defineHotLoop();
export type HotLoop = InstanceType<typeof HotLoop>;
