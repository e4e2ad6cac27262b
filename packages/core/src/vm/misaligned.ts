/**
 * The app profile's answer to a misaligned load or store from U-mode: do it
 * byte by byte and go on, as Linux's RISC-V trap handler does for user
 * programs (arch/riscv/kernel/traps_misaligned.c) and as qemu-riscv32
 * therefore behaves. The hart itself traps, like Spike; only the "kernel"
 * of the app profile emulates. Atomics (LR/SC/AMO) are not emulated: Linux
 * sends SIGBUS for them, here they stay a fault.
 */
import { decode } from '../cpu/decode.ts';
import type { Hart } from '../cpu/hart.ts';
import { OP_LH, OP_LHU, OP_LW, OP_SH, OP_SW } from '../cpu/ops.ts';
import type { Bus } from '../memory/bus.ts';

/** A fault to report instead: cause and tval. */
export interface EmulationFault {
  cause: number;
  tval: number;
}

const CAUSE_LOAD_ACCESS = 5;
const CAUSE_STORE_ACCESS = 7;

/**
 * Emulate the instruction at `hart.pc`. Returns true when it completed (pc
 * advanced, the instruction counted as retired), an EmulationFault when an
 * emulated byte access faulted, or false when the instruction is not a plain
 * load or store (leave the original fault).
 */
export function emulateMisaligned(hart: Hart, bus: Bus): boolean | EmulationFault {
  const pc = hart.pc >>> 0;
  const lo = bus.load(pc, 2);
  const word = (lo & 3) === 3 ? (lo | (bus.load(pc + 2, 2) << 16)) >>> 0 : lo;
  if (bus.fault) {
    bus.fault = false;
    return false;
  }
  const d = decode(word, hart.isa);
  const x = hart.x;
  const addr = (x[d.rs1]! + d.imm) >>> 0;
  let width: number;
  switch (d.op) {
    case OP_LH:
    case OP_LHU:
    case OP_SH:
      width = 2;
      break;
    case OP_LW:
    case OP_SW:
      width = 4;
      break;
    default:
      return false;
  }
  if (d.op === OP_SH || d.op === OP_SW) {
    const v = x[d.rs2]!;
    for (let i = 0; i < width; i++) {
      bus.store(addr + i, 1, v >>> (8 * i));
      if (bus.fault) {
        bus.fault = false;
        return { cause: CAUSE_STORE_ACCESS, tval: (addr + i) >>> 0 };
      }
    }
  } else {
    let v = 0;
    for (let i = 0; i < width; i++) {
      v |= bus.load(addr + i, 1) << (8 * i);
      if (bus.fault) {
        bus.fault = false;
        return { cause: CAUSE_LOAD_ACCESS, tval: (addr + i) >>> 0 };
      }
    }
    if (d.op === OP_LH) v = (v << 16) >> 16;
    if (d.rd !== 0) x[d.rd] = v | 0;
  }
  hart.pc = (pc + d.length) >>> 0;
  hart.instret += 1;
  hart.cycle += 1;
  return true;
}
