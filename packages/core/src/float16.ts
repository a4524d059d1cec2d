/**
 * IEEE 754 binary16 (F16) and bfloat16 (BF16) <-> float32 conversion on raw bit patterns.
 *
 * JavaScript (Node 20) has no Float16Array, and checkpoints from PyTorch/JAX are often stored
 * in half precision, so safetensors reading and writing goes through these. Everything works on
 * integer bits rather than on `Math` arithmetic so that the results are exact and NaN payloads
 * and signed zeros survive.
 *
 * binary16 layout: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 * binary32 layout: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.
 * bfloat16 is the top 16 bits of a binary32, so it widens by a plain shift.
 */

/** The float32 bit pattern with the same value as the binary16 bit pattern `h` (exact). */
export function float16BitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) {
    // Inf (mant 0) or NaN: keep the payload in the top mantissa bits, as hardware widening does.
    return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  }
  if (exp !== 0) {
    // Normal: only the exponent bias changes (127 - 15 = 112).
    return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  }
  if (mant === 0) return sign >>> 0; // +-0 keeps its sign
  // Subnormal half (mant * 2^-24) is a normal float32: shift the mantissa up until its leading 1
  // reaches the implicit-bit position (bit 10), lowering the exponent once per shift.
  let e = 113; // biased float32 exponent of 2^-14, the scale of the implicit bit at position 10
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/**
 * The binary16 bit pattern nearest to the float32 bit pattern `f`, ties to even (IEEE default
 * rounding, what `torch.Tensor.half()` and numpy do). Magnitudes from 65520 up round to
 * infinity; tiny values round to subnormals or to a zero of the same sign.
 */
export function float32BitsToFloat16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits; if they are all zero the result would read as infinity, so
    // set the quiet bit instead.
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const e = exp - 112; // the binary16 biased exponent this value would have
  if (e >= 0x1f) return sign | 0x7c00; // >= 2^16: beyond the largest finite half
  if (e <= 0) {
    // Result is a half subnormal (or zero): the value in units of 2^-24 is the full 24-bit
    // significand shifted right by 14 - e. Below 2^-25 (shift > 24) everything rounds to zero,
    // including exactly 2^-25 (a tie, and zero is the even neighbour).
    const shift = 14 - e;
    if (shift > 24) return sign;
    // exp 0 (a float32 subnormal) is far below the half range and was caught above.
    return sign | roundShiftEven(mant | 0x800000, shift);
  }
  // Normal: drop the low 13 mantissa bits with rounding. A carry out of the mantissa bumps the
  // exponent, which is the correct result (and 0x7bff + 1 = 0x7c00 is the correct overflow to
  // infinity for 65520 <= |x| < 65536).
  return sign | roundShiftEven((e << 23) | mant, 13);
}

/** `v >>> shift` rounded to nearest, ties to even (1 <= shift <= 24; v < 2^31). */
function roundShiftEven(v: number, shift: number): number {
  const q = v >>> shift;
  const rem = v & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

// Reading large F16 checkpoints converts one value per element, so a 65536-entry table (256 KiB,
// built on first use) is used instead of branching per element.
let f16Table: Uint32Array | undefined;
function table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = float16BitsToFloat32Bits(h);
  }
  return f16Table;
}

/** Widens binary16 bit patterns to float32 values (exact). */
export function float16ToFloat32Array(bits: Uint16Array): Float32Array {
  const t = table();
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return new Float32Array(out.buffer);
}

/** Widens bfloat16 bit patterns to float32 values (exact: bf16 is a truncated float32). */
export function bfloat16ToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Narrows float32 values to binary16 bit patterns (round to nearest, ties to even). */
export function float32ToFloat16Array(values: Float32Array): Uint16Array {
  // Read the bits through a Uint32 view of the same memory (a Float32Array's byteOffset is always
  // a multiple of 4, so this view is valid) rather than through JS numbers, which may canonicalise
  // NaN payloads.
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToFloat16Bits(src[i]);
  return out;
}
