export { EF_RISCV_RVC, checkPlacement, PF_R, PF_W, PF_X, flatImage, isElf, loadImage, parseElf, parseImage, segmentAddress } from './elf.ts';
export type { ElfImage, ElfSymbol, FlatOptions, LoadOptions, LoadSegment } from './elf.ts';
