/**
 * One virtual machine: a hart, its RAM and devices, the `app` (Linux-style syscalls) and `machine`
 * (QEMU `virt`) profiles, guest fault reports and VM state for snapshots.
 *
 * @module @rvisor/core/vm
 */
export { DEFAULT_RAM_SIZE, HYPERCALL_BASE, MAX_RAM_SIZE, VirtualMachine } from './vm.ts';
export type { Hypercall, HypercallResult, Profile, RunReason, RunResult, VmOptions, VmStats } from './vm.ts';
export { MTIME_HZ, REALTIME_EPOCH } from './app.ts';
export { causeName, describeFault } from './fault.ts';
export type { GuestFault } from './fault.ts';
export { RANDOM_BYTES } from './stack.ts';
export { VIRT_CLINT, VIRT_FINISHER, VIRT_RAM_BASE, VIRT_UART } from './virt.ts';
export { VM_STATE_VERSION, checkVmState } from './state.ts';
export type { HartState, VmState } from './state.ts';
