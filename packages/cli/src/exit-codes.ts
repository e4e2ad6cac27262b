/**
 * Process exit statuses of `rvisor`. A guest that exits normally passes its
 * own status through (masked to 8 bits, as a Linux process's would be), so
 * the values below can also come from a guest; the stderr line tells them
 * apart.
 */

/** Bad flags, unreadable or invalid image, invalid configuration. */
export const EXIT_USAGE = 2;
/** An internal error in rvisor itself (a bug; please report it). */
export const EXIT_INTERNAL = 70;
/** `--max-instructions` was reached before the guest exited (as timeout(1) does). */
export const EXIT_LIMIT = 124;
/**
 * The guest is idle for good: it waits (wfi, sleep) for something that can no
 * longer happen, e.g. an interrupt it has disabled or console input after end
 * of input. QEMU would hang; rvisor stops.
 */
export const EXIT_HALTED = 125;
/** stdout/stderr was closed by its reader (128 + SIGPIPE, as a shell reports `yes | head`). */
export const EXIT_OUTPUT_CLOSED = 141;
/** The user pressed Ctrl-C (128 + SIGINT, as a shell reports it). */
export const EXIT_INTERRUPTED = 130;

// Linux signal numbers used for guest faults.
const SIGILL = 4;
const SIGTRAP = 5;
const SIGBUS = 7;
const SIGSEGV = 11;

/**
 * Exit status for a guest stopped by an unhandled trap: 128 + the signal
 * Linux delivers for that trap on RISC-V (arch/riscv/kernel/traps.c). The
 * shell reports the same status for the same program under qemu-riscv32, so
 * scripts and differential tests can compare the two directly.
 */
export function faultExitCode(cause: number): number {
  switch (cause) {
    case 0: // instruction address misaligned
    case 4: // load address misaligned
    case 6: // store/AMO address misaligned
      return 128 + SIGBUS;
    case 2: // illegal instruction
      return 128 + SIGILL;
    case 3: // breakpoint
      return 128 + SIGTRAP;
    default: // access faults, page faults, anything else
      return 128 + SIGSEGV;
  }
}
