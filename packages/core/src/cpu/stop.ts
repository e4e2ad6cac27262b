/** Why `Hart.run()` returned. */

/** The instruction budget is spent. */
export const STOP_BUDGET = 0;
/** `wfi` with no enabled interrupt pending; pc is past the wfi. */
export const STOP_WFI = 1;
/** `hostTraps` only: ecall from U-mode; pc points at the ecall. */
export const STOP_ECALL = 2;
/** An unhandled trap: `faultCause`, `faultTval` and `faultPc` are set. */
export const STOP_FAULT = 3;
/** `requestStop()` was called (a device or hypercall asked to stop). */
export const STOP_HALT = 4;
