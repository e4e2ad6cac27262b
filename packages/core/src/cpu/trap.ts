// Trap causes (mcause values), RISC-V privileged spec 1.12 table 3.6.

/** Instruction address misaligned: a jump or branch to an address that is not 2-byte aligned (4-byte without C). */
export const CAUSE_MISALIGNED_FETCH = 0;
/** Instruction access fault: the hart fetched from an address outside RAM (devices and windows are not executable). */
export const CAUSE_FETCH_ACCESS = 1;
/** Illegal instruction: undecodable bits, an extension the profile lacks, or a CSR access the privilege forbids. */
export const CAUSE_ILLEGAL_INSTRUCTION = 2;
/** Breakpoint: an `ebreak` (or `c.ebreak`) instruction. */
export const CAUSE_BREAKPOINT = 3;
/** Load address misaligned: a halfword, word or LR load whose address is not a multiple of its size. */
export const CAUSE_MISALIGNED_LOAD = 4;
/** Load access fault: a load from an address that neither RAM nor any bus mapping covers. */
export const CAUSE_LOAD_ACCESS = 5;
/** Store/AMO address misaligned: a halfword or word store, SC or AMO whose address is not a multiple of its size. */
export const CAUSE_MISALIGNED_STORE = 6;
/** Store/AMO access fault: a store to an address no RAM or bus mapping covers, or to a read-only mapping. */
export const CAUSE_STORE_ACCESS = 7;
/** Environment call from U-mode; in the `app` profile this is a syscall or hypercall served by the host. */
export const CAUSE_ECALL_U = 8;
/** Environment call from M-mode (`ecall` executed in machine mode); handled by the guest's own trap vector. */
export const CAUSE_ECALL_M = 11;

/** mcause bit 31: the trap is an interrupt. */
export const CAUSE_INTERRUPT = 0x8000_0000;

// Interrupt codes (mcause without bit 31) and their bit numbers in mip/mie.
/** Machine software interrupt: raised by writing 1 to the CLINT's `msip`. */
export const INT_MSI = 3;
/** Machine timer interrupt: raised while `mtime >= mtimecmp`. */
export const INT_MTI = 7;
/** Machine external interrupt: a device line driven through `Hart.setPending(MIP_MEIP)`. */
export const INT_MEI = 11;

/** Machine software interrupt pending bit in `mip` / enable bit in `mie`. */
export const MIP_MSIP = 1 << INT_MSI;
/** Machine timer interrupt pending bit in `mip` / enable bit in `mie`. */
export const MIP_MTIP = 1 << INT_MTI;
/** Machine external interrupt pending bit in `mip` / enable bit in `mie`. */
export const MIP_MEIP = 1 << INT_MEI;

/** User mode (encoding 0): no CSR access beyond the counters `mcounteren` allows; `app`-profile programs run here. */
export const PRIV_U = 0;
/** Machine mode (encoding 3): full access; `machine`-profile guests boot here. */
export const PRIV_M = 3;
