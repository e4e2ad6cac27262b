import { UsageError } from './usage.ts';

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * A memory size: bytes, or a binary multiple with K, M or G (`64K`, `16M`,
 * `1G`; `KiB`/`MB`-style spellings are accepted too and mean the same).
 */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag} expects a size such as 64K, 16M or 1G, got '${text}'`);
  const bytes = Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()];
  if (bytes <= 0 || bytes > 2 ** 32) throw new UsageError(`${flag} must be between 1 byte and 4G, got '${text}'`);
  return bytes;
}

/** A guest address: hex with 0x, or decimal; must fit in 32 bits. */
export function parseAddress(flag: string, text: string): number {
  const t = text.trim().replace(/_/g, '');
  const value = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(value) || value > 0xffff_ffff) {
    throw new UsageError(`${flag} expects a 32-bit address such as 0x80000000, got '${text}'`);
  }
  return value;
}

const COUNT_UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };

/** A count (instructions): an integer, `_` allowed, decimal K/M/G multipliers (`500M`). */
export function parseCount(flag: string, text: string): number {
  const m = /^(\d[\d_]*)([KMG]?)$/i.exec(text.trim());
  const value = m ? Number(m[1].replace(/_/g, '')) * COUNT_UNITS[m[2].toUpperCase()] : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`${flag} expects a positive whole number such as 1000000 or 500M, got '${text}'`);
  }
  return value;
}
