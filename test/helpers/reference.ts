// Shared harness and float64 references for the forward-value op tests (test/torch/ops-*.test.ts):
// values are checked against hand-computed values or against the independent float64 references
// below, written in plain JavaScript (no torch involved). test/helpers/gradcheck.ts reuses the harness.
//
// Tolerances (|actual - expected| <= atol + rtol * |expected|, unless a test says otherwise):
//   float64 elementwise / reductions: atol = rtol = 1e-12 (a few float64 ulps)
//   float32 elementwise:              atol = 1e-6, rtol = 2e-6 (about 16 float32 ulps; libtorch uses
//                                     vectorised 1-ulp Sleef kernels, the inputs are exact float32)
//   matrix products:                  |err| <= 2 (K + 1) u sum_k |a_ik b_kj|, the classical bound for a
//                                     K-term float dot product, u = 2^-24 (float32) or 2^-53 (float64)
//   bfloat16:                         bf16 has 8 significant bits: relative 2^-8 per rounding
// Every test declared with `check` runs inside torch.scope and asserts that it leaves no live tensor behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor, DType } from '../../src/torch/index.ts';

// ---- harness --------------------------------------------------------------------------------------

export function check(name: string, fn: () => void): void {
  test(name, () => {
    const before = torch.memoryStats().liveTensors;
    torch.scope(fn);
    assert.equal(torch.memoryStats().liveTensors, before, `${name}: tensors leaked out of the test's scope`);
  });
}

/** A seeded PRNG (mulberry32), so inputs do not depend on torch's generators. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** n uniform values in [lo, hi), rounded to float32 so that float32 and float64 inputs are the same numbers. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}
/** Standard normals (Box-Muller), rounded to float32. */
export function normals(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
}
export function t32(data: readonly number[], shape: readonly number[] = [data.length]): Tensor {
  return torch.tensor(Float32Array.from(data), { shape });
}
export function t64(data: readonly number[], shape: readonly number[] = [data.length]): Tensor {
  return torch.tensor(Float64Array.from(data), { shape });
}
export function i64(data: readonly number[], shape: readonly number[] = [data.length]): Tensor {
  return torch.tensor(BigInt64Array.from(data, (v) => BigInt(v)), { shape });
}
/** The elements as plain numbers (int64 through Number, bool as 0/1). */
export function vals(t: Tensor): number[] {
  return Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} elements, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // also equal infinities
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}: element ${i}: got ${a}, expected ${e} (error ${err.toExponential(3)} > ${(atol + rtol * Math.abs(e)).toExponential(3)})`);
    }
  }
}
export function assertTensor(t: Tensor, shape: readonly number[], dtype: DType, expected: ArrayLike<number>, atol = 0, rtol = 0, what = ''): void {
  assert.deepEqual(t.shape, shape, `${what}: shape`);
  assert.equal(t.dtype, dtype, `${what}: dtype`);
  assertClose(vals(t), expected, atol, rtol, what);
}

// ---- a small float64 N-d reference --------------------------------------------------------------

export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}
/** Builds a row-major array of `shape` from a function of the multi-index. */
export function build(shape: readonly number[], f: (idx: number[]) => number): number[] {
  return Array.from({ length: numelOf(shape) }, (_, i) => f(unravel(i, shape)));
}
export function reduceRef(data: readonly number[], shape: readonly number[], dims: readonly number[] | undefined, keepdim: boolean, f: (v: number[]) => number): { data: number[]; shape: number[] } {
  const red = dims === undefined ? shape.map((_, i) => i) : dims.map((d) => (d < 0 ? d + shape.length : d));
  const kept = shape.map((s, i) => (red.includes(i) ? 1 : s));
  const groups: number[][] = Array.from({ length: numelOf(kept) }, () => []);
  data.forEach((v, i) => groups[ravel(unravel(i, shape).map((x, d) => (red.includes(d) ? 0 : x)), kept)]!.push(v));
  return { data: groups.map(f), shape: keepdim ? kept : shape.filter((_, i) => !red.includes(i)) };
}
export const sumOf = (v: number[]): number => v.reduce((a, b) => a + b, 0);
export const meanOf = (v: number[]): number => sumOf(v) / v.length;
export const varOf = (c: number) => (v: number[]): number => {
  const m = meanOf(v);
  return sumOf(v.map((x) => (x - m) ** 2)) / (v.length - c);
};
export const lseOf = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(sumOf(v.map((x) => Math.exp(x - m))));
};

/** C [M, N] = A [M, K] B [K, N] in float64, with sum_k |a_ik b_kj| for the error bound. */
export function matmulRef(a: readonly number[], b: readonly number[], m: number, k: number, n: number): { c: number[]; abs: number[] } {
  const c = new Array<number>(m * n).fill(0);
  const abs = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let sa = 0;
      for (let p = 0; p < k; p++) {
        s += a[i * k + p]! * b[p * n + j]!;
        sa += Math.abs(a[i * k + p]! * b[p * n + j]!);
      }
      c[i * n + j] = s;
      abs[i * n + j] = sa;
    }
  }
  return { c, abs };
}
export function assertMatmul(actual: readonly number[], ref: { c: number[]; abs: number[] }, k: number, u: number, what: string): void {
  assert.equal(actual.length, ref.c.length, `${what}: element count`);
  for (let i = 0; i < ref.c.length; i++) {
    const bound = 2 * (k + 1) * u * ref.abs[i]!;
    const err = Math.abs(actual[i]! - ref.c[i]!);
    assert.ok(err <= bound, `${what}: element ${i}: got ${actual[i]}, expected ${ref.c[i]} (error ${err} > bound ${bound})`);
  }
}

export function softmaxRef(data: readonly number[], shape: readonly number[], dim: number): number[] {
  const d = dim < 0 ? dim + shape.length : dim;
  return build(shape, (idx) => {
    const row = Array.from({ length: shape[d]! }, (_, j) => data[ravel(idx.map((x, k) => (k === d ? j : x)), shape)]!);
    const m = Math.max(...row);
    return Math.exp(data[ravel(idx, shape)]! - m) / sumOf(row.map((x) => Math.exp(x - m)));
  });
}

/** erf by its everywhere-positive series erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!; relative error ~1e-15. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 500 && term > sum * 1e-18; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

/** float32 -> bfloat16 -> float32: round to nearest even on the top 16 bits of the float32. */
export function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (Number.isNaN(f[0]!)) return NaN;
  const bits = u[0]!;
  const lsb = (bits >>> 16) & 1;
  u[0] = (bits + 0x7fff + lsb) & 0xffff0000;
  return f[0]!;
}
