// Forward values of the elementwise ops (unary math in float64 and float32, rounding, pow, clamp,
// where/maskedFill, comparisons and logical ops, binary arithmetic with scalars, broadcasting and dtype
// promotion), checked against hand-computed values or independent float64 references in plain
// JavaScript. The harness and the tolerances are in test/helpers/reference.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { check, uniform, t32, t64, i64, vals, assertTensor, erf } from '../helpers/reference.ts';

// ---- elementwise ---------------------------------------------------------------------------------

type Domain = 'any' | 'positive' | 'above-1' | 'nonzero';
const unary: [string, (t: Tensor) => Tensor, (x: number) => number, Domain][] = [
  ['neg', (t) => t.neg(), (x) => -x, 'any'],
  ['abs', (t) => t.abs(), Math.abs, 'any'],
  ['exp', (t) => t.exp(), Math.exp, 'any'],
  ['log', (t) => t.log(), Math.log, 'positive'],
  ['log1p', (t) => t.log1p(), Math.log1p, 'above-1'],
  ['expm1', (t) => t.expm1(), Math.expm1, 'any'],
  ['sqrt', (t) => t.sqrt(), Math.sqrt, 'positive'],
  ['rsqrt', (t) => t.rsqrt(), (x) => 1 / Math.sqrt(x), 'positive'],
  ['square', (t) => t.square(), (x) => x * x, 'any'],
  ['reciprocal', (t) => t.reciprocal(), (x) => 1 / x, 'nonzero'],
  ['sin', (t) => t.sin(), Math.sin, 'any'],
  ['cos', (t) => t.cos(), Math.cos, 'any'],
  ['tanh', (t) => t.tanh(), Math.tanh, 'any'],
  ['sigmoid', (t) => t.sigmoid(), (x) => 1 / (1 + Math.exp(-x)), 'any'],
  ['relu', (t) => t.relu(), (x) => Math.max(x, 0), 'any'],
  ['silu', (t) => t.silu(), (x) => x / (1 + Math.exp(-x)), 'any'],
  ['functional silu', (t) => torch.silu(t), (x) => x / (1 + Math.exp(-x)), 'any'],
  ['gelu', (t) => t.gelu(), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), 'any'],
  ['gelu none', (t) => torch.gelu(t, 'none'), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), 'any'],
  ['gelu tanh', (t) => t.gelu('tanh'), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), 'any'],
  ['functional gelu tanh', (t) => torch.gelu(t, 'tanh'), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), 'any'],
  ['softplus', (t) => t.softplus(), (x) => (x > 20 ? x : Math.log1p(Math.exp(x))), 'any'],
];

function domainValues(domain: Domain, seed: number): number[] {
  switch (domain) {
    case 'any':
      return [...uniform(60, seed, -4, 4), 0, 25, -25];
    case 'positive':
      return [...uniform(60, seed, 0.01, 10), 1, 1e-3, 100];
    case 'above-1':
      return [...uniform(60, seed, -0.99, 5), 0, 1e-5, -0.5];
    case 'nonzero':
      return [...uniform(60, seed, 0.05, 5).map((x, i) => (i % 2 ? x : -x)), 1, -1, 1e-3];
  }
}

check('unary math on float64 matches a JS reference to 1e-12', () => {
  unary.forEach(([name, op, ref, domain], i) => {
    const x = domainValues(domain, 100 + i);
    const y = op(t64(x));
    assertTensor(y, [x.length], 'float64', x.map(ref), 1e-12, 1e-12, name);
  });
});

check('unary math on float32 matches a JS reference (atol 1e-6, rtol 2e-6)', () => {
  unary.forEach(([name, op, ref, domain], i) => {
    const x = domainValues(domain, 200 + i);
    const y = op(t32(x, [3, x.length / 3]));
    assertTensor(y, [3, x.length / 3], 'float32', x.map(ref), 1e-6, 2e-6, name);
  });
});

check('sign, floor, ceil, round (half to even), isnan, isfinite on hand values', () => {
  const x = t32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, 0.6, -0.7, 0]);
  assert.deepEqual(vals(x.sign()), [-1, -1, -1, 1, 1, 1, 1, 1, -1, 0]);
  assert.deepEqual(vals(x.floor()), [-3, -2, -1, 0, 1, 2, 0, 0, -1, 0]);
  assert.deepEqual(vals(x.ceil()), [-2, -1, -0, 1, 2, 3, 1, 1, -0, 0]);
  assert.deepEqual(vals(x.round()), [-2, -2, -0, 0, 2, 2, 0, 1, -1, 0]);
  const special = t32([1, NaN, Infinity, -Infinity, 0]);
  assertTensor(special.isnan(), [5], 'bool', [0, 1, 0, 0, 0]);
  assertTensor(special.isfinite(), [5], 'bool', [1, 0, 0, 0, 1]);
  assertTensor(i64([-3, 0, 4]).sign(), [3], 'int64', [-1, 0, 1]);
  assertTensor(i64([-3, 0, 4]).abs(), [3], 'int64', [3, 0, 4]);
});

check('pow with scalar and tensor exponents', () => {
  const x = uniform(20, 5, 0.1, 3);
  const e = uniform(20, 6, -2, 2);
  assertTensor(t64(x).pow(2), [20], 'float64', x.map((v) => v * v), 1e-12, 1e-12, 'x^2');
  assertTensor(t64(x).pow(0.5), [20], 'float64', x.map(Math.sqrt), 1e-12, 1e-12, 'x^0.5');
  assertTensor(t64(x).pow(-1), [20], 'float64', x.map((v) => 1 / v), 1e-12, 1e-12, 'x^-1');
  assertTensor(t64(x).pow(t64(e)), [20], 'float64', x.map((v, i) => v ** e[i]!), 1e-12, 1e-12, 'x^e');
  assertTensor(t32(x).pow(3), [20], 'float32', x.map((v) => v ** 3), 1e-6, 2e-6, 'float32 x^3');
  assertTensor(t32([-2, 3]).pow(2), [2], 'float32', [4, 9]);
  assertTensor(i64([2, -3, 4]).pow(3), [3], 'int64', [8, -27, 64]);
  assertTensor(i64([2, 3]).pow(i64([10, 3])), [2], 'int64', [1024, 27]);
  assertTensor(i64([4, 9]).pow(0.5), [2], 'float32', [2, 3], 1e-6, 0);
});

check('clamp with min, max or both, on float and integer tensors', () => {
  const x = t32([-3, -1, 0, 0.5, 2, 7]);
  assert.deepEqual(vals(x.clamp(-1.5, 1)), [-1.5, -1, 0, 0.5, 1, 1]);
  assert.deepEqual(vals(x.clamp(0)), [0, 0, 0, 0.5, 2, 7]);
  assert.deepEqual(vals(x.clamp(undefined, 0.25)), [-3, -1, 0, 0.25, 0.25, 0.25]);
  assertTensor(i64([-5, 3, 10]).clamp(0, 4), [3], 'int64', [0, 3, 4]);
});

check('where and maskedFill with tensor and scalar values, broadcasting', () => {
  const cond = torch.tensor([[true, false, true], [false, false, true]]);
  const x = t32([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = t32([-1, -2, -3, -4, -5, -6], [2, 3]);
  assertTensor(torch.where(cond, x, y), [2, 3], 'float32', [1, -2, 3, -4, -5, 6]);
  assertTensor(torch.where(cond, x, 0.5), [2, 3], 'float32', [1, 0.5, 3, 0.5, 0.5, 6]);
  assertTensor(torch.where(torch.tensor([true, false, true]), x, t32([9])), [2, 3], 'float32', [1, 9, 3, 4, 9, 6]);
  assertTensor(x.maskedFill(cond, -Infinity), [2, 3], 'float32', [-Infinity, 2, -Infinity, 4, 5, -Infinity]);
  assertTensor(x.maskedFill(torch.tensor([false, true, false]), 0), [2, 3], 'float32', [1, 0, 3, 4, 0, 6]);
  assertTensor(x.maskedFill(cond, t32([7], [])), [2, 3], 'float32', [7, 2, 7, 4, 5, 7]);
  assertTensor(i64([1, 2, 3]).maskedFill(torch.tensor([true, false, false]), 9), [3], 'int64', [9, 2, 3]);
});

check('comparisons with tensors and scalars give bool tensors', () => {
  const a = t32([1, 2, 3, 4]);
  const b = t32([4, 2, 1, 4]);
  assertTensor(a.eq(b), [4], 'bool', [0, 1, 0, 1]);
  assertTensor(a.ne(b), [4], 'bool', [1, 0, 1, 0]);
  assertTensor(a.lt(b), [4], 'bool', [1, 0, 0, 0]);
  assertTensor(a.le(b), [4], 'bool', [1, 1, 0, 1]);
  assertTensor(a.gt(b), [4], 'bool', [0, 0, 1, 0]);
  assertTensor(a.ge(b), [4], 'bool', [0, 1, 1, 1]);
  assertTensor(a.eq(2), [4], 'bool', [0, 1, 0, 0]);
  assertTensor(a.gt(2.5), [4], 'bool', [0, 0, 1, 1]);
  assertTensor(i64([1, 2]).lt(1.5), [2], 'bool', [1, 0]);
  assertTensor(a.le(t32([2, 3], [2, 1])), [2, 4], 'bool', [1, 1, 0, 0, 1, 1, 1, 0]);
});

check('logicalAnd, logicalOr, logicalNot', () => {
  const a = torch.tensor([true, true, false, false]);
  const b = torch.tensor([true, false, true, false]);
  assertTensor(a.logicalAnd(b), [4], 'bool', [1, 0, 0, 0]);
  assertTensor(a.logicalOr(b), [4], 'bool', [1, 1, 1, 0]);
  assertTensor(a.logicalNot(), [4], 'bool', [0, 0, 1, 1]);
  assertTensor(t32([0, 2, -1]).logicalNot(), [3], 'bool', [1, 0, 0]);
});

check('maximum and minimum, with broadcasting', () => {
  const a = t32([1, 5, -2, 3], [2, 2]);
  assertTensor(a.maximum(t32([2, 0])), [2, 2], 'float32', [2, 5, 2, 3]);
  assertTensor(a.minimum(t32([2, 0])), [2, 2], 'float32', [1, 0, -2, 0]);
});

check('remainder and floorDivide follow Python (floor) semantics', () => {
  const a = i64([-7, 7, -7, 7]);
  const b = i64([3, 3, -3, -3]);
  assertTensor(a.remainder(b), [4], 'int64', [2, 1, -1, -2]);
  assertTensor(a.floorDivide(b), [4], 'int64', [-3, 2, 2, -3]);
  assertTensor(a.remainder(3), [4], 'int64', [2, 1, 2, 1]);
  assertTensor(a.floorDivide(2), [4], 'int64', [-4, 3, -4, 3]);
  assertTensor(t32([-7.5, 7.5, 5.25]).remainder(2), [3], 'float32', [0.5, 1.5, 1.25]);
  assertTensor(t32([-7.5, 7.5]).floorDivide(2), [2], 'float32', [-4, 3]);
});

check('add, sub (with alpha), rsub, mul, div with tensors, scalars and broadcasting', () => {
  const a = uniform(12, 21);
  const b = uniform(4, 22);
  const A = t64(a, [3, 4]);
  const B = t64(b, [4]);
  const bc = (f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i % 4]!));
  assertTensor(A.add(B), [3, 4], 'float64', bc((x, y) => x + y), 1e-15, 0, 'add');
  assertTensor(A.add(B, 2.5), [3, 4], 'float64', bc((x, y) => x + 2.5 * y), 1e-15, 1e-15, 'add alpha');
  assertTensor(A.sub(B), [3, 4], 'float64', bc((x, y) => x - y), 1e-15, 0, 'sub');
  assertTensor(A.sub(B, -3), [3, 4], 'float64', bc((x, y) => x + 3 * y), 1e-15, 1e-15, 'sub alpha');
  assertTensor(A.mul(B), [3, 4], 'float64', bc((x, y) => x * y), 0, 1e-15, 'mul');
  assertTensor(A.div(B), [3, 4], 'float64', bc((x, y) => x / y), 0, 1e-15, 'div');
  assertTensor(A.add(0.5), [3, 4], 'float64', a.map((x) => x + 0.5), 1e-15, 0, 'add scalar');
  assertTensor(A.add(0.5, 4), [3, 4], 'float64', a.map((x) => x + 2), 1e-15, 0, 'add scalar alpha');
  assertTensor(A.sub(2), [3, 4], 'float64', a.map((x) => x - 2), 1e-15, 0, 'sub scalar');
  assertTensor(A.sub(2, 0.5), [3, 4], 'float64', a.map((x) => x - 1), 1e-15, 0, 'sub scalar alpha');
  assertTensor(A.rsub(1), [3, 4], 'float64', a.map((x) => 1 - x), 1e-15, 0, 'rsub');
  assertTensor(A.mul(-3), [3, 4], 'float64', a.map((x) => -3 * x), 0, 1e-15, 'mul scalar');
  assertTensor(A.div(4), [3, 4], 'float64', a.map((x) => x / 4), 0, 1e-15, 'div scalar');
  assertTensor(t32([1, 2, 3]).add(t32([10, 20, 30])), [3], 'float32', [11, 22, 33]);
});

check('scalar ops keep integer dtypes; mixed dtypes promote like torch', () => {
  assertTensor(i64([1, 2, 3]).add(1), [3], 'int64', [2, 3, 4]);
  assertTensor(i64([1, 2, 3]).add(1n), [3], 'int64', [2, 3, 4]);
  assertTensor(i64([1, 2, 3]).add(2, 3), [3], 'int64', [7, 8, 9]);
  assertTensor(i64([1, 2, 3]).sub(1), [3], 'int64', [0, 1, 2]);
  assertTensor(i64([1, 2, 3]).mul(2), [3], 'int64', [2, 4, 6]);
  assertTensor(i64([1, 2, 3]).rsub(10), [3], 'int64', [9, 8, 7]);
  assertTensor(i64([1, 2, 3]).add(1.5), [3], 'float32', [2.5, 3.5, 4.5]);
  assertTensor(i64([1, 2, 3]).mul(2.5), [3], 'float32', [2.5, 5, 7.5]);
  assertTensor(i64([1, 2, 3]).div(2), [3], 'float32', [0.5, 1, 1.5]);
  assertTensor(torch.tensor([1, 2], { dtype: 'int32' }).add(1), [2], 'int32', [2, 3]);
  assertTensor(torch.tensor([1, 2], { dtype: 'uint8' }).mul(3), [2], 'uint8', [3, 6]);
  assertTensor(torch.tensor([1, 2], { dtype: 'int32' }).add(i64([1, 1])), [2], 'int64', [2, 3]);
  assertTensor(t32([1.5]).add(1), [1], 'float32', [2.5]);
  assertTensor(t32([1.5]).add(t64([0.25])), [1], 'float64', [1.75]);
  assertTensor(i64([2]).add(t32([0.5])), [1], 'float32', [2.5]);
  assertTensor(t32([1]).to('bfloat16').add(1.5), [1], 'bfloat16', [2.5]);
  const big = i64([0]).add(2n ** 60n);
  assert.deepEqual(Array.from(big.toArray() as BigInt64Array), [2n ** 60n]);
});

check('scalar add/sub with alpha keep a bigint exact and promote a float scalar, as torch.add(x, s, alpha=a)', () => {
  // torch: int64 [0] + (2^60 + 1) * 1 is int64 2^60 + 1
  const big = 2n ** 60n + 1n;
  const sum = i64([0]).add(big, 1);
  assert.equal(sum.dtype, 'int64');
  assert.deepEqual(Array.from(sum.toArray() as BigInt64Array), [big]);
  const diff = i64([0]).sub(big, 1);
  assert.equal(diff.dtype, 'int64');
  assert.deepEqual(Array.from(diff.toArray() as BigInt64Array), [-big]);
  // torch.add(int64 [1, 2], 0.5, alpha=2) is float32 [2., 3.]: the float scalar promotes
  assertTensor(i64([1, 2]).add(0.5, 2), [2], 'float32', [2, 3]);
});

check('a -0 scalar stays -0: x * -0 and full(-0) are negative zeros, as in torch', () => {
  const isNegZero = (t: Tensor) => Object.is(vals(t)[0], -0);
  assert.ok(isNegZero(t32([1]).mul(-0)), 'float32 [1] * -0 should be -0');
  assert.ok(isNegZero(torch.full([1], -0)), 'full([1], -0) should be -0');
  assert.ok(isNegZero(torch.zeros([1]).fill_(-0)), 'fill_(-0) should be -0');
});
