// Gradients of the elementwise ops and the reductions, against central finite differences in float64.
// The gradcheck harness and its tolerance are in test/helpers/gradcheck.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { check, distinct, gradcheck, inp, normals, randn, randu } from '../helpers/gradcheck.ts';

// ---- elementwise ---------------------------------------------------------------------------------

check('gradcheck: add, sub, mul, div (with broadcasting and alpha), rsub, scalar forms', () => {
  const a = randn([3, 4], 1);
  const b = randn([4], 2);
  const col = randn([3, 1], 3);
  gradcheck('add', [a, b], (x, y) => x.add(y));
  gradcheck('add alpha', [a, b], (x, y) => x.add(y, 2.5));
  gradcheck('add scalar', [a], (x) => x.add(0.75));
  gradcheck('sub', [a, col], (x, y) => x.sub(y));
  gradcheck('sub alpha', [a, b], (x, y) => x.sub(y, -0.5));
  gradcheck('rsub', [a], (x) => x.rsub(2));
  gradcheck('mul', [col, b], (x, y) => x.mul(y));
  gradcheck('mul scalar', [a], (x) => x.mul(-1.5));
  gradcheck('div', [a, randu([4], 4, 0.5, 2)], (x, y) => x.div(y));
  gradcheck('div by negative', [randu([4], 5, -2, -0.5), a], (x, y) => y.div(x));
  gradcheck('div scalar', [a], (x) => x.div(3));
});

check('gradcheck: pow (scalar and tensor exponents), exp, log, sqrt, rsqrt, square, neg', () => {
  const any = randn([2, 5], 11);
  const pos = randu([2, 5], 12, 0.2, 3);
  gradcheck('pow 3', [any], (x) => x.pow(3));
  gradcheck('pow 2', [any], (x) => x.pow(2));
  gradcheck('pow 2.5', [pos], (x) => x.pow(2.5));
  gradcheck('pow -1.5', [pos], (x) => x.pow(-1.5));
  gradcheck('pow tensor', [pos, randn([5], 13)], (x, e) => x.pow(e));
  gradcheck('exp', [any], (x) => x.exp());
  gradcheck('log', [pos], (x) => x.log());
  gradcheck('sqrt', [pos], (x) => x.sqrt());
  gradcheck('rsqrt', [pos], (x) => x.rsqrt());
  gradcheck('square', [any], (x) => x.square());
  gradcheck('neg', [any], (x) => x.neg());
  gradcheck('reciprocal', [pos], (x) => x.reciprocal());
  gradcheck('log1p', [pos], (x) => x.log1p());
  gradcheck('expm1', [any], (x) => x.expm1());
  gradcheck('abs away from 0', [inp([-2, -0.5, 0.3, 1.7], [4])], (x) => x.abs());
});

check('gradcheck: tanh, sigmoid, silu, gelu (both), softplus, relu', () => {
  const x = inp([...normals(14, 21).map((v) => 2.5 * v), -6, 6, 0.01, -0.01, 19.5, 21], [4, 5]);
  gradcheck('tanh', [x], (t) => t.tanh());
  gradcheck('sigmoid', [x], (t) => t.sigmoid());
  gradcheck('silu', [x], (t) => t.silu());
  gradcheck('functional silu', [x], (t) => torch.silu(t));
  gradcheck('gelu', [x], (t) => t.gelu());
  gradcheck('gelu tanh', [x], (t) => t.gelu('tanh'));
  gradcheck('functional gelu tanh', [x], (t) => torch.gelu(t, 'tanh'));
  gradcheck('softplus', [x], (t) => t.softplus());
  gradcheck('relu', [x], (t) => t.relu());
  gradcheck('sin', [x], (t) => t.sin());
  gradcheck('cos', [x], (t) => t.cos());
});

check('gradcheck: clamp away from its kinks', () => {
  // no value within 1e-3 of the bounds -0.5 and 0.7
  const x = inp([-1.2, -0.6, -0.45, 0, 0.3, 0.69, 0.71, 1.5], [2, 4]);
  gradcheck('clamp both', [x], (t) => t.clamp(-0.5, 0.7));
  gradcheck('clamp min', [x], (t) => t.clamp(-0.5));
  gradcheck('clamp max', [x], (t) => t.clamp(undefined, 0.7));
  const g = gradcheck('clamp sparsity', [x], (t) => t.clamp(-0.5, 0.7), { seed: 3 });
  // the clamped elements get exactly zero gradient
  [0, 1, 6, 7].forEach((j) => assert.ok(g[0]![j] === 0, `clamped element ${j} has gradient ${g[0]![j]}`));
});

check('gradcheck: where and maskedFill', () => {
  const cond = [true, false, false, true, true, false];
  const a = randn([2, 3], 31);
  const b = randn([2, 3], 32);
  const mask = () => torch.tensor([[true, false, false], [true, true, false]]);
  gradcheck('where', [a, b], (x, y) => torch.where(mask(), x, y));
  gradcheck('where broadcast', [a, randn([3], 33)], (x, y) => torch.where(mask(), x.exp(), y));
  gradcheck('where scalar', [a], (x) => torch.where(mask(), x, 0.25));
  const g = gradcheck('maskedFill', [a], (x) => x.mul(x).maskedFill(mask(), -3));
  cond.forEach((c, j) => {
    if (c) assert.ok(g[0]![j] === 0, `masked element ${j} has gradient ${g[0]![j]}, expected 0`);
  });
  gradcheck('maskedFill broadcast mask', [a], (x) => x.maskedFill(torch.tensor([false, true, false]), 0));
});

// ---- reductions ----------------------------------------------------------------------------------

check('gradcheck: sum and mean over dims, keepdim', () => {
  const x = randn([2, 3, 4], 41);
  gradcheck('sum all', [x], (t) => t.sum());
  gradcheck('sum dim 1', [x], (t) => t.sum(1));
  gradcheck('sum dims [0, 2] keepdim', [x], (t) => t.sum([0, 2], { keepdim: true }));
  gradcheck('mean all', [x], (t) => t.mean());
  gradcheck('mean dim -1', [x], (t) => t.mean(-1));
  gradcheck('mean dims [0, 1] keepdim', [x], (t) => t.mean([0, 1], { keepdim: true }));
  gradcheck('cumsum', [x], (t) => t.cumsum(1));
  gradcheck('prod', [randu([2, 3], 42, 0.5, 1.5)], (t) => t.prod(1));
});

check('gradcheck: amax, max(dim), logsumexp, var, std, norm', () => {
  const x = inp(distinct(24, 51), [2, 3, 4]);
  gradcheck('amax dim -1', [x], (t) => t.amax(-1));
  gradcheck('amax dims [0, 2] keepdim', [x], (t) => t.amax([0, 2], true));
  gradcheck('amax all', [x], (t) => t.amax());
  gradcheck('amin dim 1', [x], (t) => t.amin(1));
  gradcheck('max(dim) values', [x], (t) => t.max(1).values);
  gradcheck('min(dim) values', [x], (t) => t.min(2, true).values);
  const y = randn([2, 3, 4], 52, 2);
  gradcheck('logsumexp dim -1', [y], (t) => t.logsumexp(-1));
  gradcheck('logsumexp dims [0, 1] keepdim', [y], (t) => t.logsumexp([0, 1], true));
  gradcheck('var', [y], (t) => t.var());
  gradcheck('var dim 1', [y], (t) => t.var(1));
  gradcheck('var correction 0 keepdim', [y], (t) => t.var(-1, { correction: 0, keepdim: true }));
  gradcheck('std dim 2', [y], (t) => t.std(2));
  gradcheck('norm', [y], (t) => t.norm());
  gradcheck('norm dim -1', [y], (t) => t.norm(2, -1));
  gradcheck('norm p=1 dims', [y], (t) => t.norm(1, [0, 2], true));
  gradcheck('norm p=3', [y], (t) => t.norm(3, 1));
});
