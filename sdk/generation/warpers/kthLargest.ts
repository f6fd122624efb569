const BINS = 2048;
const counts = new Int32Array(BINS);

/**
 * The k-th largest of a[0..n) (1 ≤ k ≤ n), without sorting. Large inputs: one min/max pass, one
 * histogram pass over 2048 bins, then quickselect inside the one bin holding the k-th value (a few
 * hundred values). `scratch` (capacity ≥ n) is overwritten; `a` is not modified.
 */
export function kthLargest(a: Float32Array, n: number, k: number, scratch: Float32Array): number {
  if (n < 4096) {
    scratch.set(a.subarray(0, n));
    return quickselect(scratch, n, k);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!(max > min) || !Number.isFinite(min) || !Number.isFinite(max)) {
    scratch.set(a.subarray(0, n));
    return quickselect(scratch, n, k);
  }
  const scale = (BINS - 1) / (max - min);
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[((a[i]! - min) * scale) | 0]!++;
  let above = 0;
  let bin = BINS - 1;
  for (; bin > 0; bin--) {
    const c = counts[bin]!;
    if (above + c >= k) break;
    above += c;
  }
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    if ((((x - min) * scale) | 0) === bin) scratch[m++] = x;
  }
  return quickselect(scratch, m, k - above);
}

/** In-place quickselect (Hoare partition, median-of-3): the k-th largest of a[0..n). */
export function quickselect(a: Float32Array, n: number, k: number): number {
  const t = k - 1;
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!, y = a[mid]!, z = a[hi]!;
    const pivot = x > y ? (y > z ? y : x > z ? z : x) : x > z ? x : y > z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (t <= j) hi = j;
    else if (t >= i) lo = i;
    else return a[t]!;
  }
  return a[t]!;
}
