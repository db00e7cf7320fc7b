// The gradcheck harness for the gradient tests (test/torch/gradients-*.test.ts).
//
// gradcheck: for float64 leaf inputs x and a fixed random r of f(x)'s shape, the analytic gradient is
// d/dx sum(f(x) * r) from backward(); the numeric one is (L(x + h e_i) - L(x - h e_i)) / 2h with
// h = 1e-6, evaluated under noGrad. Tolerance: |analytic - numeric| <= 1e-6 * max(1, |numeric|).
// (Central differences in float64 are accurate to about h^2 |L'''| + eps |L| / h ~ 1e-10 here.)
// Every test declared with `check` runs inside torch.scope and asserts that it leaves no live tensor behind.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { check, rng, numelOf, t32, t64, i64, vals } from './reference.ts';

export { check, numelOf, t32, t64, i64, vals };

// ---- harness --------------------------------------------------------------------------------------

/** n uniform values in [lo, hi) in float64 (not rounded to float32, unlike reference.ts). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}
/** Standard normals (Box-Muller) in float64 (not rounded to float32, unlike reference.ts). */
export function normals(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}
/** n distinct values at least `gap` apart, shuffled (for max/amax: no near-ties). */
export function distinct(n: number, seed: number, gap = 0.1): number[] {
  const r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * gap + r() * gap * 0.5);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}
export function assertClose(actual: readonly number[], expected: readonly number[], atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    const err = Math.abs(actual[i]! - e);
    assert.ok(err <= atol + rtol * Math.abs(e), `${what}: element ${i}: got ${actual[i]}, expected ${e} (error ${err})`);
  });
}

export interface Input {
  data: number[];
  shape: number[];
}
export const inp = (data: number[], shape: number[]): Input => {
  assert.equal(data.length, numelOf(shape), 'test input size');
  return { data, shape };
};
export const randn = (shape: number[], seed: number, scale = 1): Input => inp(normals(numelOf(shape), seed).map((v) => v * scale), shape);
export const randu = (shape: number[], seed: number, lo: number, hi: number): Input => inp(uniform(numelOf(shape), seed, lo, hi), shape);

export const H = 1e-6;
export const GRAD_TOL = 1e-6;

/**
 * Checks d/dx sum(f(x) * r) from backward() against central differences, for every input.
 * Returns the analytic gradients (for further checks).
 */
export function gradcheck(name: string, inputs: Input[], f: (...xs: Tensor[]) => Tensor, options: { seed?: number; numericF?: (...xs: Tensor[]) => Tensor } = {}): number[][] {
  const tol = GRAD_TOL;
  const leaves = inputs.map(({ data, shape }) => t64(data, shape).requiresGrad_());
  const out = f(...leaves);
  assert.equal(out.dtype, 'float64', `${name}: output dtype`);
  assert.equal(out.requiresGrad, true, `${name}: output requires grad`);
  const r = t64(normals(out.numel, options.seed ?? 7), out.shape);
  out.mul(r).sum().backward();
  const analytic = leaves.map((leaf, i) => {
    const g = leaf.grad;
    assert.ok(g !== null, `${name}: input ${i} got no gradient`);
    assert.deepEqual(g.shape, leaf.shape, `${name}: gradient ${i} shape`);
    assert.equal(g.dtype, 'float64', `${name}: gradient ${i} dtype`);
    return vals(g);
  });
  const numericF = options.numericF ?? f;
  const objective = (datas: number[][]): number =>
    torch.scope(() => torch.noGrad(() => numericF(...datas.map((d, i) => t64(d, inputs[i]!.shape))).mul(r).sum().item()));
  const datas = inputs.map((x) => [...x.data]);
  inputs.forEach((x, i) => {
    let worst = 0;
    let worstAt = -1;
    let worstPair: [number, number] = [0, 0];
    for (let j = 0; j < x.data.length; j++) {
      const v = datas[i]![j]!;
      datas[i]![j] = v + H;
      const plus = objective(datas);
      datas[i]![j] = v - H;
      const minus = objective(datas);
      datas[i]![j] = v;
      const numeric = (plus - minus) / (2 * H);
      const err = Math.abs(analytic[i]![j]! - numeric) / Math.max(1, Math.abs(numeric));
      if (!(err <= worst)) {
        worst = err;
        worstAt = j;
        worstPair = [analytic[i]![j]!, numeric];
      }
    }
    assert.ok(worst <= tol, `${name}: input ${i} element ${worstAt}: analytic ${worstPair[0]} vs numeric ${worstPair[1]} (scaled error ${worst.toExponential(3)} > ${tol})`);
  });
  return analytic;
}
