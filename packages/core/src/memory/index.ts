export { Bus, PAGE_CODE, PAGE_SHIFT, PAGE_SIZE, PAGE_WATCH } from './bus.ts';
export type { Device, FlaggedStoreHook } from './bus.ts';
