/**
 * Parsing and validation of guest images (ELF32 RISC-V executables and flat binaries) and loading them
 * into guest RAM.
 *
 * @module @rvisor/core/loader
 */
export { EF_RISCV_RVC, checkPlacement, PF_R, PF_W, PF_X, flatImage, isElf, loadImage, parseElf, parseImage, segmentAddress } from './elf.ts';
export type { ElfImage, ElfSymbol, FlatOptions, LoadOptions, LoadSegment } from './elf.ts';
