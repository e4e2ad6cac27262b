/**
 * High words of 32x32-bit products (MULH, MULHSU, MULHU), shared by the
 * interpreter and the code the compiling tier generates. Computed in 16-bit
 * limbs so every partial product is exact in a double: no BigInt, no
 * allocation on the hot path.
 */

/** Unsigned x unsigned. */
export function mulhu(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

/** Signed x signed: correct the unsigned high word by the operands' sign weights. */
export function mulh(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/** Signed x unsigned. */
export function mulhsu(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b : 0)) | 0;
}
