/**
 * The Linux-style initial stack of the `app` profile (System V ABI, RISC-V
 * psABI), so a statically linked program's crt0 finds argc/argv/envp/auxv
 * where it would under `qemu-riscv32`:
 *
 *   sp -> argc, argv[0..argc-1], NULL, envp[0..], NULL, auxv pairs, AT_NULL
 *         ... AT_RANDOM bytes, argument and environment strings ... top of RAM
 *
 * sp is 16-byte aligned. AT_RANDOM is deterministic (see RANDOM_BYTES):
 * partitions must replay identically, so there is no entropy here.
 */

import { ConfigError } from '../errors.ts';
import type { Bus } from '../memory/bus.ts';

export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_EXECFN = 31;

/** The 16 AT_RANDOM bytes: fixed so that runs are reproducible (a stack-protector canary, not a secret). */
export const RANDOM_BYTES = /* @__PURE__ */ Uint8Array.from({ length: 16 }, (_, i) => (0x52 + i * 0x3b) & 0xff);

export interface StackSpec {
  /** One past the highest stack byte. */
  top: number;
  /** Lowest address the initial stack may use. */
  bottom: number;
  argv: readonly string[];
  env: readonly string[];
  entry: number;
  phdr: number;
  phnum: number;
  /** Linux hwcap: misa letter bits (I, M, A, C). */
  hwcap: number;
}

/** Writes the initial stack into RAM and returns the initial sp. */
export function buildInitialStack(bus: Bus, spec: StackSpec): number {
  const enc = new TextEncoder();
  const strings = [...spec.argv, ...spec.env].map((s) => {
    if (s.includes('\0')) throw new ConfigError('VM_BAD_ARGS', `argument or environment string ${JSON.stringify(s)} contains a NUL byte`);
    return enc.encode(s + '\0');
  });
  const strBytes = strings.reduce((n, s) => n + s.length, 0);

  // Linux leaves one NULL pointer-sized word at the very top.
  let p = spec.top - 4 - strBytes;
  const stringsAt = p;
  p = (p & ~15) - 16;
  const randomAt = p;

  const aux: number[] = [];
  if (spec.phdr !== 0) aux.push(AT_PHDR, spec.phdr, AT_PHENT, 32, AT_PHNUM, spec.phnum);
  aux.push(AT_PAGESZ, 4096, AT_BASE, 0, AT_FLAGS, 0, AT_ENTRY, spec.entry, AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0);
  aux.push(AT_HWCAP, spec.hwcap, AT_CLKTCK, 100, AT_SECURE, 0, AT_RANDOM, randomAt);
  if (spec.argv.length > 0) aux.push(AT_EXECFN, stringsAt);
  aux.push(AT_NULL, 0);

  const words: number[] = [spec.argv.length];
  let s = stringsAt;
  for (let i = 0; i < strings.length; i++) {
    if (i === spec.argv.length) words.push(0);
    words.push(s);
    s += strings[i]!.length;
  }
  if (strings.length === spec.argv.length) words.push(0);
  words.push(0, ...aux);
  const sp = (p - words.length * 4) & ~15;
  if (sp < spec.bottom) {
    throw new ConfigError('VM_ARGS_TOO_LARGE', `arguments and environment need ${spec.top - sp} bytes, more than the ${spec.top - spec.bottom}-byte stack`);
  }

  s = stringsAt;
  for (const str of strings) {
    bus.writeRam(s, str);
    s += str.length;
  }
  bus.writeRam(randomAt, RANDOM_BYTES);
  const vec = new Uint8Array(words.length * 4);
  const dv = new DataView(vec.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  bus.writeRam(sp, vec);
  return sp >>> 0;
}
