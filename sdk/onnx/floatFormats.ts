/**
 * The float formats a checkpoint and a graph use, converted in bulk: bfloat16 (the released weights),
 * IEEE half (fp16 graphs) and float32. bf16 → fp32 is exact; fp32 → fp16 rounds to nearest even and
 * counts what does not fit, so a converter can report overflow instead of writing infinities silently.
 */

/** bf16 is the top half of an fp32: widening is a shift, exact for every value. */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToNumber(bits[i]!);
  return out;
}

export function halfBitsToNumber(x: number): number {
  const sign = x & 0x8000 ? -1 : 1;
  const exp = (x >> 10) & 0x1f;
  const frac = x & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export interface HalfConversion {
  bits: Uint16Array;
  /** Finite inputs that became ±Infinity (|x| ≥ 65520). */
  overflow: number;
  /** Non-zero inputs that became ±0. */
  underflow: number;
  /** Largest finite |x| seen, to say how far out of range an overflow was. */
  maxAbs: number;
}

export function float32ToHalf(values: Float32Array): HalfConversion {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bits = new Uint16Array(values.length);
  let overflow = 0;
  let underflow = 0;
  let maxAbs = 0;
  for (let i = 0; i < words.length; i++) {
    const u = words[i]!;
    const h = halfBits(u);
    bits[i] = h;
    const finite = ((u >>> 23) & 0xff) !== 0xff;
    if (finite) {
      const a = Math.abs(values[i]!);
      if (a > maxAbs) maxAbs = a;
      if ((h & 0x7fff) === 0x7c00) overflow++;
      else if ((h & 0x7fff) === 0 && a !== 0) underflow++;
    }
  }
  return { bits, overflow, underflow, maxAbs };
}

/** One fp32 bit pattern → half bits, round to nearest even (subnormals included). */
function halfBits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const e = (u >>> 23) & 0xff;
  const m = u & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const E = e - 127 + 15;
  if (E >= 31) return sign | 0x7c00;
  if (E <= 0) {
    if (E < -10) return sign;
    const full = m | 0x800000;
    const shift = 14 - E;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (E << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is correct rounding (up to Infinity)
  return sign | half;
}
