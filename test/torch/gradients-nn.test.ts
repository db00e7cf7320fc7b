// Gradients of the matrix products and nn ops (linear, softmax, embedding, indexing, shape ops, rmsNorm,
// crossEntropy, attention, a small MLP) against central finite differences in float64, plus the
// autograd API (explicit gradients, accumulation, noGrad, detach, clipGradNorm). The gradcheck
// harness and its tolerance are in test/helpers/gradcheck.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { assertClose, check, gradcheck, i64, normals, numelOf, randn, randu, t32, t64, uniform, vals } from '../helpers/gradcheck.ts';

// ---- products and nn ops -------------------------------------------------------------------------

check('gradcheck: matmul, mm, bmm, mT', () => {
  gradcheck('matmul 2-D', [randn([3, 4], 61), randn([4, 5], 62)], (a, b) => a.matmul(b));
  gradcheck('matmul broadcast', [randn([2, 3, 4], 63), randn([4, 2], 64)], (a, b) => a.matmul(b));
  gradcheck('matmul vector', [randn([4], 65), randn([4, 3], 66)], (a, b) => a.matmul(b));
  gradcheck('mm', [randn([2, 3], 67), randn([3, 2], 68)], (a, b) => a.mm(b));
  gradcheck('bmm', [randn([2, 3, 4], 69), randn([2, 4, 2], 70)], (a, b) => a.bmm(b));
  gradcheck('mT', [randn([2, 4, 3], 71), randn([2, 4, 2], 72)], (a, b) => a.mT.matmul(b));
});

check('gradcheck: linear w.r.t. input, weight and bias', () => {
  const x = randn([2, 3, 5], 81);
  const w = randn([4, 5], 82);
  const b = randn([4], 83);
  gradcheck('linear with bias', [x, w, b], (X, W, B) => torch.linear(X, W, B));
  gradcheck('linear without bias', [x, w], (X, W) => torch.linear(X, W));
  gradcheck('linear null bias 2-D', [randn([3, 5], 84), w], (X, W) => torch.linear(X, W, null));
});

check('gradcheck: softmax and logSoftmax over dims', () => {
  const x = randn([2, 3, 4], 91, 2);
  gradcheck('softmax -1', [x], (t) => t.softmax(-1));
  gradcheck('softmax 0', [x], (t) => torch.softmax(t, 0));
  gradcheck('logSoftmax -1', [x], (t) => t.logSoftmax(-1));
  gradcheck('logSoftmax 1', [x], (t) => torch.logSoftmax(t, 1));
});

check('gradcheck: embedding (weight), gather, indexSelect, scatterAdd; repeated indices accumulate', () => {
  const ids = [3, 0, 3, 1, 3, 4];
  const g = gradcheck('embedding', [randn([5, 3], 101)], (w) => torch.embedding(i64(ids, [2, 3]), w));
  // row 2 is never looked up: zero gradient
  assert.ok(g[0]!.slice(6, 9).every((v) => v === 0), `row 2 gradient ${g[0]!.slice(6, 9)}`);
  gradcheck('gather', [randn([3, 4], 102)], (x) => x.gather(1, i64([0, 0, 3, 2, 1, 1, 3, 3, 0], [3, 3])));
  gradcheck('gather dim 0', [randn([3, 4], 103)], (x) => x.gather(0, i64([2, 0, 1, 2], [1, 4])));
  gradcheck('indexSelect', [randn([4, 3], 104)], (x) => x.indexSelect(0, i64([1, 3, 1, 1])));
  gradcheck('indexSelect dim 1', [randn([4, 3], 105)], (x) => x.indexSelect(1, i64([2, 0])));
  gradcheck('scatterAdd', [randn([2, 4], 106), randn([2, 3], 107)], (x, s) => x.scatterAdd(1, i64([0, 3, 0, 2, 2, 1], [2, 3]), s));
});

check('gradcheck: cat, stack, split, chunk, unbind', () => {
  const a = randn([2, 3], 111);
  const b = randn([2, 2], 112);
  gradcheck('cat dim 1', [a, b], (x, y) => torch.cat([x, y.mul(y)], 1));
  gradcheck('cat dim 0', [a, randn([1, 3], 113)], (x, y) => torch.cat([x, y], 0));
  gradcheck('stack', [a, randn([2, 3], 114)], (x, y) => torch.stack([x, y.exp()], 1));
  const x = randn([3, 5], 115);
  gradcheck('split sizes', [x], (t) => {
    const [p, q, s] = t.split([1, 3, 1], 1);
    return torch.cat([p!.mul(2), q!.exp(), s!.square()], 1);
  });
  gradcheck('split size', [x], (t) => t.split(2, 0)[1]!.sin());
  gradcheck('chunk', [x], (t) => {
    const [c0, c1] = t.chunk(2, 1);
    assert.deepEqual([c0!.shape, c1!.shape], [[3, 3], [3, 2]]);
    return c0!.narrow(1, 1, 2).mul(c1!.add(0.5));
  });
  gradcheck('unbind', [x], (t) => {
    const rows = t.unbind(0);
    return rows[0]!.mul(rows[2]!).add(rows[1]!.tanh());
  });
});

check('gradcheck: narrow, slice (negative, step), select, view, reshape, flatten, squeeze/unsqueeze', () => {
  const x = randn([3, 4, 5], 121);
  gradcheck('narrow', [x], (t) => t.narrow(2, 1, 3));
  gradcheck('slice step', [x], (t) => t.slice(2, 0, 5, 2));
  gradcheck('slice negative', [x], (t) => t.slice(1, -3, -1));
  gradcheck('select', [x], (t) => t.select(1, 2).exp());
  gradcheck('select negative', [x], (t) => t.select(-1, -1));
  gradcheck('view', [x], (t) => t.view(12, 5).mul(t.view(12, 5).select(0, 0)));
  gradcheck('reshape of transpose', [x], (t) => t.transpose(0, 2).reshape(-1, 6).square());
  gradcheck('flatten', [x], (t) => t.flatten(1).sin());
  gradcheck('squeeze/unsqueeze', [randn([3, 1, 2], 122)], (t) => t.squeeze(1).unsqueeze(0).mul(t.squeeze()));
});

check('gradcheck: permute, transpose, contiguous, expand, repeat, repeatInterleave, flip, triu/tril', () => {
  const x = randn([2, 3, 4], 131);
  gradcheck('permute', [x], (t) => t.permute(2, 0, 1).contiguous().mul(t.permute([2, 0, 1])));
  gradcheck('transpose', [x], (t) => t.transpose(0, 1).exp());
  gradcheck('expand', [randn([3, 1], 132)], (t) => t.expand(3, 4).mul(t.expand(3, 4)));
  gradcheck('expand new dim', [randn([4], 133)], (t) => t.expand([2, 3, 4]).sin());
  gradcheck('repeat', [randn([2, 2], 134)], (t) => t.repeat(2, 3).square());
  gradcheck('repeatInterleave dim', [randn([2, 3], 135)], (t) => t.repeatInterleave(2, 1).square());
  gradcheck('repeatInterleave flat', [randn([2, 3], 136)], (t) => t.repeatInterleave(3).sin());
  gradcheck('flip', [x], (t) => t.flip([0, 2]).mul(t));
  gradcheck('triu', [randn([4, 4], 137)], (t) => t.triu(1).exp());
  gradcheck('tril', [randn([4, 4], 138)], (t) => t.tril().square());
});

check('gradcheck: rmsNorm w.r.t. input and weight', () => {
  const D = 6;
  const x = randn([2, 3, D], 141, 2);
  const w = randu([D], 142, 0.5, 1.5);
  const eps = 1e-5;
  // Hugging Face's formula composed from float64 ops: this is the function rmsNorm computes.
  const composed = (X: Tensor, W: Tensor): Tensor => W.mul(X.mul(X.square().mean(-1, { keepdim: true }).add(eps).rsqrt()));
  gradcheck('rmsNorm composed formula', [x, w], composed);
  // The weight enters linearly after the cast back to x's dtype, so its gradient is float64-exact.
  gradcheck('rmsNorm weight', [w], (W) => torch.rmsNorm(t64(x.data, x.shape), W, eps));
  // rmsNorm normalises in float32 (as Hugging Face does, even for float64 input), so finite differences
  // of rmsNorm itself would only see float32 steps: the numeric side differentiates the float64 formula
  // instead. The analytic input gradient (float32 inside, ~1e-7 relative) still meets the usual 1e-6.
  gradcheck('rmsNorm input', [x, w], (X, W) => torch.rmsNorm(X, W, eps), { numericF: composed });
  // and on float32 tensors, the same gradients as the float64 formula within float32 tolerance
  const X32 = t32(x.data, x.shape).requiresGrad_();
  const W32 = t32(w.data, w.shape).requiresGrad_();
  const r = normals(numelOf(x.shape), 143);
  torch.rmsNorm(X32, W32, eps).mul(t32(r, x.shape)).sum().backward();
  const X64 = t64(x.data, x.shape).requiresGrad_();
  const W64 = t64(w.data, w.shape).requiresGrad_();
  composed(X64, W64).mul(t64(r.map(Math.fround), x.shape)).sum().backward();
  assertClose(vals(X32.grad!), vals(X64.grad!), 1e-5, 1e-5, 'float32 rmsNorm input grad');
  assertClose(vals(W32.grad!), vals(W64.grad!), 1e-5, 1e-5, 'float32 rmsNorm weight grad');
});

check('gradcheck: crossEntropy with ignoreIndex and each reduction', () => {
  const logits = randn([5, 4], 151, 2);
  const targets = () => i64([1, -100, 3, 0, 3]);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    const g = gradcheck(`crossEntropy ${reduction}`, [logits], (l) => torch.crossEntropy(l, targets(), { reduction }));
    assert.ok(g[0]!.slice(4, 8).every((v) => v === 0), `${reduction}: the ignored row has gradient ${g[0]!.slice(4, 8)}`);
  }
  gradcheck('crossEntropy custom ignoreIndex', [logits], (l) => torch.crossEntropy(l, i64([1, 2, 3, 0, 2]), { ignoreIndex: 2 }));
  // the mean-reduced gradient is (softmax - onehot) / (number of counted rows), by hand
  const L = t64(logits.data, [5, 4]).requiresGrad_();
  torch.crossEntropy(L, targets()).backward();
  const p = vals(t64(logits.data, [5, 4]).softmax(-1));
  const expected = p.map((v, k) => {
    const row = Math.floor(k / 4);
    const t = [1, -100, 3, 0, 3][row]!;
    return t === -100 ? 0 : (v - (k % 4 === t ? 1 : 0)) / 4;
  });
  assertClose(vals(L.grad!), expected, 1e-15, 1e-12, 'crossEntropy hand gradient');
});

check('gradcheck: scaledDotProductAttention w.r.t. q, k, v: plain, causal, masks, scale; fused and composed', () => {
  const [B, Hh, T, D] = [1, 2, 4, 3];
  const shape = [B, Hh, T, D];
  const q = randn(shape, 161);
  const k = randn(shape, 162);
  const v = randn(shape, 163);
  const boolMask = () => torch.tensor([[true, false, true, true], [true, true, false, false], [false, true, true, false], [true, true, true, true]]);
  const additive = uniform(T * T, 164, -1, 1);
  const configs: [string, () => torch.AttentionOptions][] = [
    ['plain', () => ({})],
    ['causal', () => ({ isCausal: true })],
    ['bool mask', () => ({ mask: boolMask() })],
    ['additive mask', () => ({ mask: t64(additive, [T, T]) })],
    ['scale', () => ({ scale: 0.8 })],
  ];
  for (const [name, options] of configs) {
    const grads: number[][][] = [];
    for (const allowFused of [true, false]) {
      grads.push(gradcheck(`sdpa ${name} allowFused=${allowFused}`, [q, k, v], (Q, K, V) => torch.scaledDotProductAttention(Q, K, V, { ...options(), allowFused })));
    }
    grads[0]!.forEach((g, i) => assertClose(g, grads[1]![i]!, 1e-13, 1e-12, `sdpa ${name}: fused and composed gradients of input ${i}`));
  }
  // causal with fewer queries than keys (queries are the last positions)
  gradcheck('sdpa causal Tq<Tk', [randn([1, 2, 2, D], 165), k, v], (Q, K, V) => torch.scaledDotProductAttention(Q, K, V, { isCausal: true }));
});

check('gradcheck: a two-layer MLP with cross entropy, w.r.t. every parameter and the input', () => {
  const [N, In, Hid, Out] = [4, 5, 6, 3];
  const x = randn([N, In], 171);
  const w1 = randn([Hid, In], 172, 0.5);
  const b1 = randn([Hid], 173, 0.1);
  const w2 = randn([Out, Hid], 174, 0.5);
  const b2 = randn([Out], 175, 0.1);
  gradcheck('mlp', [x, w1, b1, w2, b2], (X, W1, B1, W2, B2) => torch.crossEntropy(torch.linear(torch.linear(X, W1, B1).gelu(), W2, B2), i64([0, 2, 1, 2])));
  gradcheck('mlp silu, mean-square loss', [x, w1, b1, w2, b2], (X, W1, B1, W2, B2) => torch.linear(torch.linear(X, W1, B1).silu(), W2, B2).square().mean());
});

// ---- autograd API --------------------------------------------------------------------------------

check('backward with an explicit gradient tensor', () => {
  const x = t64([1, 2, 3]).requiresGrad_();
  const y = x.mul(x); // dy/dx = 2x
  y.backward(t64([1, 0.5, -2]));
  assert.deepEqual(vals(x.grad!), [2, 2, -12]);
  const z = t64([1, 2, 3, 4], [2, 2]).requiresGrad_();
  z.mul(3).backward(torch.onesLike(z));
  assert.deepEqual(vals(z.grad!), [3, 3, 3, 3]);
  assert.throws(() => x.mul(2).backward(), /scalar/);
  assert.throws(() => t64([1]).mul(2).sum().backward(), /does not require grad/);
});

check('gradients accumulate over two backward calls; grad = null and zeroGrad clear them', () => {
  const p = t64([1, -2]).requiresGrad_();
  const q = t64([3]).requiresGrad_();
  assert.equal(p.grad, null);
  p.mul(3).sum().backward();
  assert.deepEqual(vals(p.grad!), [3, 3]);
  p.square().sum().backward();
  assert.deepEqual(vals(p.grad!), [5, -1], 'second backward adds 2p');
  p.grad = null;
  assert.equal(p.grad, null);
  p.mul(q).sum().backward();
  assert.deepEqual(vals(p.grad!), [3, 3]);
  assert.deepEqual(vals(q.grad!), [-1]);
  torch.zeroGrad([p, q]);
  assert.equal(p.grad, null);
  assert.equal(q.grad, null);
  // an explicitly set gradient is what backward accumulates into
  p.grad = t64([10, 20]);
  p.sum().backward();
  assert.deepEqual(vals(p.grad!), [11, 21]);
});

check('retainGraph allows a second backward through the same graph; retainGrad keeps a non-leaf gradient', () => {
  const x = t64([1, 2]).requiresGrad_();
  const h = x.exp().retainGrad();
  assert.equal(x.isLeaf, true);
  assert.equal(h.isLeaf, false);
  const loss = h.sum();
  loss.backward(undefined, { retainGraph: true });
  assert.deepEqual(vals(h.grad!), [1, 1]);
  loss.backward();
  assertClose(vals(x.grad!), [2 * Math.E, 2 * Math.exp(2)], 0, 1e-15, 'two backward passes');
  // without retainGraph the saved tensors are freed: a second pass fails
  const y = x.mul(x).sum();
  y.backward();
  assert.throws(() => y.backward(), /second time|freed/);
});

check('noGrad produces tensors without requiresGrad; enableGrad re-enables; modes restore', () => {
  const x = t64([1, 2]).requiresGrad_();
  assert.equal(torch.isGradEnabled(), true);
  const y = torch.noGrad(() => {
    assert.equal(torch.isGradEnabled(), false);
    const inner = torch.enableGrad(() => {
      assert.equal(torch.isGradEnabled(), true);
      return x.mul(2);
    });
    assert.equal(inner.requiresGrad, true);
    assert.equal(torch.isGradEnabled(), false);
    return x.mul(3).exp();
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(torch.isGradEnabled(), true);
  assert.throws(() => torch.noGrad(() => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(torch.isGradEnabled(), true, 'grad mode restored after a throw');
  assert.throws(() => torch.noGrad(() => Promise.resolve(1)), TypeError);
  assert.equal(torch.isGradEnabled(), true);
  assert.throws(() => y.sum().backward(), /does not require grad/);
});

check('detach cuts the graph', () => {
  const x = t64([1.5, -2]).requiresGrad_();
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  // d/dx (x * detach(x)) = detach(x), not 2x
  x.mul(d).sum().backward();
  assert.deepEqual(vals(x.grad!), [1.5, -2]);
  const y = x.mul(2);
  const yd = y.detach();
  assert.equal(yd.isLeaf, true);
  assert.throws(() => yd.sum().backward(), /does not require grad/);
});

check('clipGradNorm returns the norm before clipping and scales gradients to maxNorm (float32)', () => {
  const p1 = t32([0, 0]).requiresGrad_();
  const p2 = t32([0, 0, 0]).requiresGrad_();
  const p3 = t32([0]).requiresGrad_(); // no gradient: ignored
  const setGrads = () => {
    p1.grad = t32([3, 4]);
    p2.grad = t32([12, 0, 0]);
  };
  setGrads();
  // global norm sqrt(9 + 16 + 144) = 13
  const norm = torch.clipGradNorm([p1, p2, p3], 6.5);
  assert.ok(Math.abs(norm - 13) <= 13 * 2 ** -23, `norm ${norm}`);
  const c = 6.5 / (13 + 1e-6);
  assertClose(vals(p1.grad!), [3 * c, 4 * c], 0, 2 ** -22, 'p1 clipped');
  assertClose(vals(p2.grad!), [12 * c, 0, 0], 0, 2 ** -22, 'p2 clipped');
  assert.equal(p3.grad, null);
  const after = Math.hypot(...vals(p1.grad!), ...vals(p2.grad!));
  assert.ok(Math.abs(after - 6.5) <= 1e-5, `clipped norm ${after}`);
  // below maxNorm: unchanged, returns the norm
  setGrads();
  assert.ok(Math.abs(torch.clipGradNorm([p1, p2], 100) - 13) <= 13 * 2 ** -23);
  assert.deepEqual(vals(p1.grad!), [3, 4]);
  assert.deepEqual(vals(p2.grad!), [12, 0, 0]);
  // the inf-norm is the largest |g|
  setGrads();
  assert.equal(torch.clipGradNorm([p1, p2], 6, { normType: Infinity }), 12);
  assertClose(vals(p2.grad!), [12 * (6 / (12 + 1e-6)), 0, 0], 0, 2 ** -22, 'inf-norm clip');
  // gradients from a real backward
  const w = t32([1, 2, 3]).requiresGrad_();
  w.square().sum().backward(); // grad 2w = [2, 4, 6], norm sqrt(56)
  const n = torch.clipGradNorm([w], 1);
  assert.ok(Math.abs(n - Math.sqrt(56)) <= Math.sqrt(56) * 2 ** -22);
  assertClose(vals(w.grad!), [2, 4, 6].map((g) => g / (Math.sqrt(56) + 1e-6)), 0, 2 ** -21, 'backward grads clipped');
  // a NaN gradient: reported, or an error with errorIfNonfinite
  p1.grad = t32([NaN, 1]);
  assert.ok(Number.isNaN(torch.clipGradNorm([p1], 1)));
  p1.grad = t32([NaN, 1]);
  assert.throws(() => torch.clipGradNorm([p1], 1, { errorIfNonfinite: true }), /NaN|Inf/);
  assert.throws(() => torch.clipGradNorm([p1], 0), RangeError);
  assert.equal(torch.clipGradNorm([p3], 1), 0, 'no gradients: norm 0');
});

check('clipGradNorm on float64 gradients (as torch.nn.utils.clip_grad_norm_ supports)', () => {
  const p = t64([0, 0]).requiresGrad_();
  const q = t64([0]).requiresGrad_();
  p.grad = t64([3, 4]);
  q.grad = t64([12]);
  const norm = torch.clipGradNorm([p, q], 6.5);
  assert.ok(Math.abs(norm - 13) <= 1e-6, `norm ${norm}`);
  const c = 6.5 / (13 + 1e-6);
  assertClose(vals(p.grad!), [3 * c, 4 * c], 0, 1e-6, 'float64 p clipped');
  assertClose(vals(q.grad!), [12 * c], 0, 1e-6, 'float64 q clipped');
});
