/** Trap causes (mcause values), RISC-V privileged spec 1.12 table 3.6. */

export const CAUSE_MISALIGNED_FETCH = 0;
export const CAUSE_FETCH_ACCESS = 1;
export const CAUSE_ILLEGAL_INSTRUCTION = 2;
export const CAUSE_BREAKPOINT = 3;
export const CAUSE_MISALIGNED_LOAD = 4;
export const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_MISALIGNED_STORE = 6;
export const CAUSE_STORE_ACCESS = 7;
export const CAUSE_ECALL_U = 8;
export const CAUSE_ECALL_M = 11;

/** mcause bit 31: the trap is an interrupt. */
export const CAUSE_INTERRUPT = 0x8000_0000;

/** Interrupt codes (mcause without bit 31) and their bit numbers in mip/mie. */
export const INT_MSI = 3;
export const INT_MTI = 7;
export const INT_MEI = 11;

/** mip / mie bits. */
export const MIP_MSIP = 1 << INT_MSI;
export const MIP_MTIP = 1 << INT_MTI;
export const MIP_MEIP = 1 << INT_MEI;

/** Privilege levels. */
export const PRIV_U = 0;
export const PRIV_M = 3;
