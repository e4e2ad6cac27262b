/**
 * Human-readable reports of unhandled guest traps. The numbers (pc, cause,
 * tval) are what programs should use; the message is for people and logs.
 */

const CAUSE_NAMES: readonly string[] = [
  'instruction address misaligned',
  'instruction access fault',
  'illegal instruction',
  'breakpoint',
  'load address misaligned',
  'load access fault',
  'store address misaligned',
  'store access fault',
  'environment call from U-mode',
  'environment call from S-mode',
  'reserved exception 10',
  'environment call from M-mode',
];

/** An unhandled trap that stopped the guest. */
export interface GuestFault {
  /** Address of the instruction that trapped. */
  readonly pc: number;
  /** mcause value (bit 31 set for an interrupt). */
  readonly cause: number;
  /** `mtval`: the faulting address, or the instruction bits for an illegal instruction. */
  readonly tval: number;
  /** One-line description for people and logs, e.g. `load access fault at pc 0x00010074 (address 0x00000000)`. */
  readonly message: string;
}

export const hex32 = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/**
 * Human-readable name of an `mcause` value, e.g. `load access fault` or `interrupt 7`; unknown codes become
 * `exception N`.
 */
export function causeName(cause: number): string {
  if ((cause & 0x8000_0000) !== 0) return `interrupt ${cause & 0x7fff_ffff}`;
  return CAUSE_NAMES[cause] ?? `exception ${cause}`;
}

/**
 * Build the {@link GuestFault} for a trap at `pc` with `mcause` = `cause` and `mtval` = `tval`, with a one-line
 * message naming the cause, pc and faulting address or instruction.
 */
export function describeFault(pc: number, cause: number, tval: number): GuestFault {
  const name = causeName(cause);
  let detail = '';
  if (cause === 2) detail = ` (instruction ${hex32(tval)})`;
  else if (cause === 0 || cause === 1 || (cause >= 4 && cause <= 7)) detail = ` (address ${hex32(tval)})`;
  return { pc: pc >>> 0, cause: cause >>> 0, tval: tval >>> 0, message: `${name} at pc ${hex32(pc)}${detail}` };
}
