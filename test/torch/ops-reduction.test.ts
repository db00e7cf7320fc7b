// Forward values of the reductions, the matrix products (matmul, linear), softmax and friends
// (logSoftmax, rmsNorm, crossEntropy, scaledDotProductAttention) and bfloat16, checked against
// independent float64 references in plain JavaScript. The harness, the references and the tolerances
// are in test/helpers/reference.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { check, uniform, normals, t32, t64, i64, vals, assertClose, assertTensor, build, reduceRef, sumOf, meanOf, varOf, lseOf, matmulRef, assertMatmul, softmaxRef, bf16 } from '../helpers/reference.ts';

// ---- reductions ----------------------------------------------------------------------------------

const rshape = [3, 4, 5];
const rdata = uniform(60, 31, -2, 2);
const dimCases: (number[] | undefined)[] = [undefined, [0], [1], [-1], [0, 2], [-1, -2], [0, 1, 2]];

check('sum, mean, amax, amin, logsumexp, var, std, norm over dims with keepdim (float64)', () => {
  const x = t64(rdata, rshape);
  const cases: [string, (dims: number[] | undefined, keepdim: boolean) => Tensor, (v: number[]) => number][] = [
    ['sum', (d, k) => x.sum(d, { keepdim: k }), sumOf],
    ['mean', (d, k) => x.mean(d, { keepdim: k }), meanOf],
    ['amax', (d, k) => x.amax(d, k), (v) => Math.max(...v)],
    ['amin', (d, k) => x.amin(d, k), (v) => Math.min(...v)],
    ['var', (d, k) => x.var(d, { keepdim: k }), varOf(1)],
    ['var correction 0', (d, k) => x.var(d, { keepdim: k, correction: 0 }), varOf(0)],
    ['var correction 2', (d, k) => x.var(d, { keepdim: k, correction: 2 }), varOf(2)],
    ['std', (d, k) => x.std(d, { keepdim: k }), (v) => Math.sqrt(varOf(1)(v))],
    ['std correction 0', (d, k) => x.std(d, { keepdim: k, correction: 0 }), (v) => Math.sqrt(varOf(0)(v))],
    ['norm 2', (d, k) => x.norm(2, d, k), (v) => Math.sqrt(sumOf(v.map((a) => a * a)))],
    ['norm 1', (d, k) => x.norm(1, d, k), (v) => sumOf(v.map(Math.abs))],
    ['norm 3', (d, k) => x.norm(3, d, k), (v) => sumOf(v.map((a) => Math.abs(a) ** 3)) ** (1 / 3)],
    ['norm inf', (d, k) => x.norm(Infinity, d, k), (v) => Math.max(...v.map(Math.abs))],
  ];
  for (const [name, op, f] of cases) {
    for (const dims of dimCases) {
      for (const keepdim of [false, true]) {
        const ref = reduceRef(rdata, rshape, dims, keepdim, f);
        assertTensor(op(dims, keepdim), ref.shape, 'float64', ref.data, 1e-12, 1e-12, `${name} dims=${JSON.stringify(dims)} keepdim=${keepdim}`);
      }
    }
  }
  for (const dims of dimCases.filter((d) => d !== undefined)) {
    for (const keepdim of [false, true]) {
      const ref = reduceRef(rdata, rshape, dims, keepdim, lseOf);
      assertTensor(x.logsumexp(dims!, keepdim), ref.shape, 'float64', ref.data, 1e-12, 1e-12, `logsumexp dims=${JSON.stringify(dims)}`);
    }
  }
  assertTensor(x.logsumexp(1), [3, 5], 'float64', reduceRef(rdata, rshape, [1], false, lseOf).data, 1e-12, 1e-12, 'logsumexp number dim');
  assertTensor(x.sum(1), [3, 5], 'float64', reduceRef(rdata, rshape, [1], false, sumOf).data, 1e-12, 1e-12, 'sum number dim');
  // the default norm is the 2-norm of everything
  assertTensor(x.norm(), [], 'float64', [Math.sqrt(sumOf(rdata.map((a) => a * a)))], 1e-12, 1e-12, 'norm()');
});

check('reductions on float32 match float64 references (rtol 1e-5)', () => {
  const x = t32(rdata, rshape);
  const ref = (dims: number[], f: (v: number[]) => number) => reduceRef(rdata, rshape, dims, false, f).data;
  assertTensor(x.sum(-1), [3, 4], 'float32', ref([-1], sumOf), 1e-6, 1e-5, 'sum');
  assertTensor(x.mean([0, 1]), [5], 'float32', ref([0, 1], meanOf), 1e-6, 1e-5, 'mean');
  assertTensor(x.logsumexp(1), [3, 5], 'float32', ref([1], lseOf), 1e-6, 1e-5, 'logsumexp');
  assertTensor(x.var(2), [3, 4], 'float32', ref([2], varOf(1)), 1e-6, 1e-5, 'var');
  // large inputs: logsumexp must not overflow
  assertTensor(t32([1000, 1000]).logsumexp(0), [], 'float32', [1000 + Math.log(2)], 0, 1e-6, 'logsumexp stable');
});

check('sum and mean with a dtype; integer and bool sums are int64', () => {
  assertTensor(torch.tensor([1, 2, 3], { dtype: 'int32' }).sum(), [], 'int64', [6]);
  assertTensor(torch.tensor([true, true, false, true]).sum(), [], 'int64', [3]);
  assertTensor(i64([1, 2, 3, 4], [2, 2]).sum(0), [2], 'int64', [4, 6]);
  assertTensor(i64([1, 2]).mean(undefined, { dtype: 'float32' }), [], 'float32', [1.5]);
  assertTensor(t32([1, 2]).sum(undefined, { dtype: 'float64' }), [], 'float64', [3]);
  assertTensor(t32([1, 2, 3, 4], [2, 2]).sum(1, { keepdim: true, dtype: 'float64' }), [2, 1], 'float64', [3, 7]);
});

check('prod along a dim', () => {
  const data = uniform(12, 41, 0.5, 1.5);
  const x = t64(data, [3, 4]);
  for (const dim of [0, 1, -1]) {
    for (const keepdim of [false, true]) {
      const ref = reduceRef(data, [3, 4], [dim], keepdim, (v) => v.reduce((a, b) => a * b, 1));
      assertTensor(x.prod(dim, keepdim), ref.shape, 'float64', ref.data, 1e-14, 1e-13, `prod dim=${dim}`);
    }
  }
  assertTensor(i64([1, 2, 3, 4], [2, 2]).prod(1), [2], 'int64', [2, 12]);
});

check('max/min with indices, max()/min(), argmax/argmin over dims and everything', () => {
  const x = t64(rdata, rshape);
  const argOf = (better: (a: number, b: number) => boolean) => (v: number[]) => v.reduce((bi, a, i) => (better(a, v[bi]!) ? i : bi), 0);
  for (const dim of [0, 1, 2, -1]) {
    for (const keepdim of [false, true]) {
      const what = `dim=${dim} keepdim=${keepdim}`;
      const mx = x.max(dim, keepdim);
      const mn = x.min(dim, keepdim);
      const rmax = reduceRef(rdata, rshape, [dim], keepdim, (v) => Math.max(...v));
      const rmin = reduceRef(rdata, rshape, [dim], keepdim, (v) => Math.min(...v));
      const iarg = reduceRef(rdata, rshape, [dim], keepdim, argOf((a, b) => a > b));
      const iargmin = reduceRef(rdata, rshape, [dim], keepdim, argOf((a, b) => a < b));
      assertTensor(mx.values, rmax.shape, 'float64', rmax.data, 0, 0, `max values ${what}`);
      assertTensor(mx.indices, iarg.shape, 'int64', iarg.data, 0, 0, `max indices ${what}`);
      assertTensor(mn.values, rmin.shape, 'float64', rmin.data, 0, 0, `min values ${what}`);
      assertTensor(mn.indices, iargmin.shape, 'int64', iargmin.data, 0, 0, `min indices ${what}`);
      assertTensor(x.argmax(dim, keepdim), iarg.shape, 'int64', iarg.data, 0, 0, `argmax ${what}`);
      assertTensor(x.argmin(dim, keepdim), iargmin.shape, 'int64', iargmin.data, 0, 0, `argmin ${what}`);
    }
  }
  const flatMax = rdata.indexOf(Math.max(...rdata));
  const flatMin = rdata.indexOf(Math.min(...rdata));
  assertTensor(x.max(), [], 'float64', [rdata[flatMax]!]);
  assertTensor(x.min(), [], 'float64', [rdata[flatMin]!]);
  assertTensor(x.argmax(), [], 'int64', [flatMax]);
  assertTensor(x.argmin(), [], 'int64', [flatMin]);
});

check('all and any over a dim and over everything', () => {
  const b = torch.tensor([[true, false, true], [true, true, true]]);
  assertTensor(b.all(), [], 'bool', [0]);
  assertTensor(b.any(), [], 'bool', [1]);
  assertTensor(b.all(1), [2], 'bool', [0, 1]);
  assertTensor(b.all(0), [3], 'bool', [1, 0, 1]);
  assertTensor(b.any(0, true), [1, 3], 'bool', [1, 1, 1]);
  assertTensor(torch.zeros([2, 2], { dtype: 'bool' }).any(-1), [2], 'bool', [0, 0]);
  assertTensor(t32([1, 0]).all(), [], 'bool', [0]);
  assertTensor(t32([1, -2]).all(), [], 'bool', [1]);
});

check('cumsum along dims, with a dtype', () => {
  const x = t64([1, 2, 3, 4, 5, 6], [2, 3]);
  assertTensor(x.cumsum(1), [2, 3], 'float64', [1, 3, 6, 4, 9, 15]);
  assertTensor(x.cumsum(0), [2, 3], 'float64', [1, 2, 3, 5, 7, 9]);
  assertTensor(x.cumsum(-1), [2, 3], 'float64', [1, 3, 6, 4, 9, 15]);
  assertTensor(i64([1, 2, 3]).cumsum(0), [3], 'int64', [1, 3, 6]);
  assertTensor(torch.tensor([true, false, true]).cumsum(0), [3], 'int64', [1, 1, 2]);
  assertTensor(i64([1, 2, 3]).cumsum(0, 'float64'), [3], 'float64', [1, 3, 6]);
  const data = uniform(40, 43);
  let acc = 0;
  assertTensor(t64(data).cumsum(0), [40], 'float64', data.map((v) => (acc += v)), 1e-13, 1e-13, 'random cumsum');
});

// ---- products ------------------------------------------------------------------------------------

check('matmul, mm, bmm, mT on random float32 and float64 inputs vs a float64 JS matmul', () => {
  const [M, K, N] = [7, 37, 5];
  const a = normals(M * K, 51);
  const b = normals(K * N, 52);
  const ref = matmulRef(a, b, M, K, N);
  for (const [dtype, u, mk] of [['float32', 2 ** -24, t32], ['float64', 2 ** -53, t64]] as const) {
    const A = mk(a, [M, K]);
    const B = mk(b, [K, N]);
    for (const [name, c] of [['matmul', A.matmul(B)], ['mm', A.mm(B)]] as const) {
      assert.deepEqual([c.shape, c.dtype], [[M, N], dtype], name);
      assertMatmul(vals(c), ref, K, u, `${name} ${dtype}`);
    }
    // A^T^T through mT and a non-contiguous operand
    const At = mk(build([K, M], ([i, j]) => a[j! * K + i!]!), [K, M]);
    assertMatmul(vals(At.mT.matmul(B)), ref, K, u, `mT ${dtype}`);
  }
  // bmm and batched/broadcast matmul
  const [Bt, P, Q, R] = [3, 4, 6, 5];
  const x = normals(Bt * P * Q, 53);
  const y = normals(Bt * Q * R, 54);
  const expected: number[] = [];
  const absv: number[] = [];
  for (let i = 0; i < Bt; i++) {
    const r = matmulRef(x.slice(i * P * Q, (i + 1) * P * Q), y.slice(i * Q * R, (i + 1) * Q * R), P, Q, R);
    expected.push(...r.c);
    absv.push(...r.abs);
  }
  const X = t32(x, [Bt, P, Q]);
  const Y = t32(y, [Bt, Q, R]);
  assert.deepEqual(X.bmm(Y).shape, [Bt, P, R]);
  assertMatmul(vals(X.bmm(Y)), { c: expected, abs: absv }, Q, 2 ** -24, 'bmm');
  assertMatmul(vals(X.matmul(Y)), { c: expected, abs: absv }, Q, 2 ** -24, 'batched matmul');
  // [2, 3, P, Q] @ [Q, R] broadcasts the matrix over the batch dims
  const z = normals(6 * P * Q, 55);
  const w = normals(Q * R, 56);
  const bc = X.matmul(t32(w, [Q, R]));
  assert.deepEqual(bc.shape, [Bt, P, R]);
  const exp2: number[] = [];
  const abs2: number[] = [];
  for (let i = 0; i < Bt; i++) {
    const r = matmulRef(x.slice(i * P * Q, (i + 1) * P * Q), w, P, Q, R);
    exp2.push(...r.c);
    abs2.push(...r.abs);
  }
  assertMatmul(vals(bc), { c: exp2, abs: abs2 }, Q, 2 ** -24, 'broadcast matmul');
  const Z = t64(z, [2, 3, P, Q]).matmul(t64(w, [Q, R]));
  assert.deepEqual(Z.shape, [2, 3, P, R]);
  // vector @ matrix and matrix @ vector
  const v = normals(Q, 57);
  const vm = matmulRef(v, w, 1, Q, R);
  assertTensor(t64(v).matmul(t64(w, [Q, R])), [R], 'float64', vm.c, 1e-13, 1e-13, 'vector @ matrix');
  const mv = matmulRef(x.slice(0, P * Q), v, P, Q, 1);
  assertTensor(t64(x.slice(0, P * Q), [P, Q]).matmul(t64(v)), [P], 'float64', mv.c, 1e-13, 1e-13, 'matrix @ vector');
  assert.throws(() => t32([1, 2, 3, 4], [2, 2]).mm(t32([1, 2, 3], [3, 1])), /mm/);
});

check('linear with and without bias, on 2-D and 3-D inputs', () => {
  const [B, T, In, Out] = [2, 3, 9, 4];
  const x = normals(B * T * In, 61);
  const w = normals(Out * In, 62);
  const bias = normals(Out, 63);
  const wT = build([In, Out], ([i, o]) => w[o! * In + i!]!);
  const ref = matmulRef(x, wT, B * T, In, Out);
  for (const [dtype, u, mk] of [['float32', 2 ** -24, t32], ['float64', 2 ** -53, t64]] as const) {
    const X = mk(x, [B, T, In]);
    const W = mk(w, [Out, In]);
    const y = torch.linear(X, W);
    assert.deepEqual([y.shape, y.dtype], [[B, T, Out], dtype]);
    assertMatmul(vals(y), ref, In, u, `linear ${dtype}`);
    assertMatmul(vals(torch.linear(X, W, null)), ref, In, u, `linear null bias ${dtype}`);
    const yb = torch.linear(X.reshape(B * T, In), W, mk(bias, [Out]));
    assert.deepEqual(yb.shape, [B * T, Out]);
    const withBias = { c: ref.c.map((c, i) => c + bias[i % Out]!), abs: ref.abs.map((s, i) => s + Math.abs(bias[i % Out]!)) };
    assertMatmul(vals(yb), withBias, In + 1, u, `linear bias ${dtype}`);
  }
});

// ---- softmax and friends -------------------------------------------------------------------------

check('softmax and logSoftmax over each dim vs a JS reference, dtype option, large inputs', () => {
  const shape = [3, 4, 5];
  const data = uniform(60, 71, -5, 5);
  for (const dim of [0, 1, 2, -1]) {
    const ref = softmaxRef(data, shape, dim);
    assertTensor(t64(data, shape).softmax(dim), shape, 'float64', ref, 1e-14, 1e-12, `softmax dim ${dim}`);
    assertTensor(torch.softmax(t32(data, shape), dim), shape, 'float32', ref, 1e-7, 2e-6, `softmax f32 dim ${dim}`);
    assertTensor(t64(data, shape).logSoftmax(dim), shape, 'float64', ref.map(Math.log), 1e-12, 1e-12, `logSoftmax dim ${dim}`);
    assertTensor(torch.logSoftmax(t32(data, shape), dim), shape, 'float32', ref.map(Math.log), 1e-6, 2e-6, `logSoftmax f32 dim ${dim}`);
  }
  const asF64 = t32(data, shape).softmax(-1, 'float64');
  assert.equal(asF64.dtype, 'float64');
  assertClose(vals(asF64), softmaxRef(data, shape, -1), 1e-14, 1e-12, 'softmax dtype float64');
  assert.equal(t32(data, shape).logSoftmax(-1, 'float64').dtype, 'float64');
  assertTensor(t32([1000, 1000, -Infinity]).softmax(0), [3], 'float32', [0.5, 0.5, 0]);
  assertTensor(t32([1000, 999]).logSoftmax(0), [2], 'float32', [-Math.log1p(Math.exp(-1)), -1 - Math.log1p(Math.exp(-1))], 1e-6, 1e-6);
});

check('rmsNorm matches Hugging Face: x * rsqrt(mean(x^2) + eps) in float32, then * weight', () => {
  const [rows, D] = [4, 16];
  const x = normals(rows * D, 81).map((v) => Math.fround(v * 3));
  const w = uniform(D, 82, 0.5, 1.5);
  const reference = (xs: number[], ws: number[], eps: number, round: (v: number) => number) =>
    xs.map((v, i) => {
      const r = Math.floor(i / D);
      const row = xs.slice(r * D, (r + 1) * D);
      const ms = meanOf(row.map((a) => a * a));
      return round(ws[i % D]! * round(v / Math.sqrt(ms + eps)));
    });
  // eps = 0.5 makes the placement of eps (inside the square root) matter
  for (const eps of [1e-6, 0.5]) {
    const y = torch.rmsNorm(t32(x, [rows, D]), t32(w), eps);
    assertTensor(y, [rows, D], 'float32', reference(x, w, eps, Math.fround), 1e-6, 2e-6, `rmsNorm float32 eps=${eps}`);
  }
  // 3-D input normalises the last dim
  const y3 = torch.rmsNorm(t32(x, [2, 2, D]), t32(w), 1e-5);
  assertTensor(y3, [2, 2, D], 'float32', reference(x, w, 1e-5, Math.fround), 1e-6, 2e-6, 'rmsNorm 3-D');
  // bfloat16: normalised in float32, cast back to bf16, then multiplied by the bf16 weight (bf16 result).
  // Each bf16 rounding is worth 2^-8 relative; two roundings plus float32 noise stay under 2^-6.
  const xb = x.map(bf16);
  const wb = w.map(bf16);
  const yb = torch.rmsNorm(t32(xb, [rows, D]).to('bfloat16'), t32(wb).to('bfloat16'), 1e-6);
  assertTensor(yb, [rows, D], 'bfloat16', reference(xb, wb, 1e-6, bf16), 0, 2 ** -6, 'rmsNorm bfloat16');
  // float64 input: normalised in float32 as Hugging Face does, returned as float64
  const y64 = torch.rmsNorm(t64(x, [rows, D]), t64(w), 1e-6);
  assertTensor(y64, [rows, D], 'float64', reference(x, w, 1e-6, (v) => v), 1e-6, 2e-6, 'rmsNorm float64');
});

check('crossEntropy with each reduction and ignoreIndex vs a JS reference', () => {
  const [N, C] = [6, 5];
  const logits = normals(N * C, 91).map((v) => Math.fround(2 * v));
  const targets = [0, 4, -100, 2, 3, -100];
  const losses = targets.map((t, i) => (t === -100 ? 0 : lseOf(logits.slice(i * C, (i + 1) * C)) - logits[i * C + t]!));
  const counted = targets.filter((t) => t !== -100).length;
  for (const [dtype, mk, atol] of [['float64', t64, 1e-12], ['float32', t32, 1e-5]] as const) {
    const L = mk(logits, [N, C]);
    const T = i64(targets);
    assertTensor(torch.crossEntropy(L, T, { reduction: 'none' }), [N], dtype, losses, atol, atol, `${dtype} none`);
    assertTensor(torch.crossEntropy(L, T, { reduction: 'sum' }), [], dtype, [sumOf(losses)], atol, atol, `${dtype} sum`);
    assertTensor(torch.crossEntropy(L, T), [], dtype, [sumOf(losses) / counted], atol, atol, `${dtype} mean (default)`);
    assertTensor(torch.crossEntropy(L, T, { reduction: 'mean' }), [], dtype, [sumOf(losses) / counted], atol, atol, `${dtype} mean`);
  }
  // a custom ignoreIndex: class 3 targets count for nothing
  const T2 = i64([0, 3, 1, 3, 2, 4]);
  const l2 = [0, 3, 1, 3, 2, 4].map((t, i) => (t === 3 ? 0 : lseOf(logits.slice(i * C, (i + 1) * C)) - logits[i * C + t]!));
  assertTensor(torch.crossEntropy(t64(logits, [N, C]), T2, { ignoreIndex: 3, reduction: 'none' }), [N], 'float64', l2, 1e-12, 1e-12, 'ignoreIndex none');
  assertTensor(torch.crossEntropy(t64(logits, [N, C]), T2, { ignoreIndex: 3 }), [], 'float64', [sumOf(l2) / 4], 1e-12, 1e-12, 'ignoreIndex mean');
  assert.throws(() => torch.crossEntropy(t64(logits, [N, C]), T2, { reduction: 'avg' as 'mean' }), TypeError);
});

// softmax(q k^T * scale + mask) v over [B, Tq, D] x [B, Tk, D]; causal queries are the last Tq positions.
interface AttentionRefOptions {
  causal?: boolean;
  allowed?: (b: number, i: number, j: number) => boolean;
  additive?: (b: number, i: number, j: number) => number;
  scale?: number;
}
function attentionRef(q: number[], k: number[], v: number[], B: number, Tq: number, Tk: number, D: number, opts: AttentionRefOptions = {}): number[] {
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const s: number[] = [];
      for (let j = 0; j < Tk; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(b * Tq + i) * D + d]! * k[(b * Tk + j) * D + d]!;
        let score = dot * scale + (opts.additive ? opts.additive(b, i, j) : 0);
        if (opts.causal && j > Tk - Tq + i) score = -Infinity;
        if (opts.allowed && !opts.allowed(b, i, j)) score = -Infinity;
        s.push(score);
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = sumOf(e);
      for (let d = 0; d < D; d++) out.push(sumOf(e.map((w, j) => (w / z) * v[(b * Tk + j) * D + d]!)));
    }
  }
  return out;
}

check('scaledDotProductAttention vs a JS reference: plain, causal, boolean and additive masks, scale; fused == composed', () => {
  const [B, H, T, D] = [2, 3, 5, 8];
  const q = normals(B * H * T * D, 101);
  const k = normals(B * H * T * D, 102);
  const v = normals(B * H * T * D, 103);
  const shape = [B, H, T, D];
  // a boolean mask [B, 1, T, T] (true = may attend) that leaves every row at least one key
  const allowedFn = (bh: number, i: number, j: number) => j === i || (Math.floor(bh / H) + i * 3 + j * 5) % 4 !== 0;
  const maskData = build([B, 1, T, T], ([b, , i, j]) => (allowedFn(b! * H, i!, j!) ? 1 : 0));
  const additive = uniform(T * T, 104, -2, 2);
  const configs: [string, () => torch.AttentionOptions, AttentionRefOptions][] = [
    ['plain', () => ({}), {}],
    ['causal', () => ({ isCausal: true }), { causal: true }],
    ['bool mask', () => ({ mask: torch.tensor(Uint8Array.from(maskData), { shape: [B, 1, T, T], dtype: 'bool' }) }), { allowed: allowedFn }],
    ['additive mask', () => ({ mask: t32(additive, [T, T]) }), { additive: (_b, i, j) => additive[i * T + j]! }],
    ['scale', () => ({ scale: 0.7 }), { scale: 0.7 }],
  ];
  for (const [name, options, refOptions] of configs) {
    const expected = attentionRef(q, k, v, B * H, T, T, D, refOptions);
    const results: Tensor[] = [];
    for (const [dtype, mk, tol] of [['float64', t64, 1e-12], ['float32', t32, 1e-5]] as const) {
      for (const allowFused of [true, false]) {
        const out = torch.scaledDotProductAttention(mk(q, shape), mk(k, shape), mk(v, shape), { ...options(), allowFused });
        assertTensor(out, shape, dtype, expected, tol, tol, `${name} ${dtype} allowFused=${allowFused}`);
        results.push(out);
      }
    }
    // the fused and composed paths agree (float64: 1e-13, float32: 1e-6)
    assertClose(vals(results[0]!), vals(results[1]!), 1e-13, 1e-13, `${name}: fused vs composed float64`);
    assertClose(vals(results[2]!), vals(results[3]!), 1e-6, 1e-6, `${name}: fused vs composed float32`);
  }
  // causal with fewer queries than keys: the queries are the last Tq positions
  const Tq = 2;
  const qs = normals(B * Tq * D, 105);
  const kv = normals(B * T * D, 106);
  const expected = attentionRef(qs, kv, kv, B, Tq, T, D, { causal: true });
  for (const allowFused of [true, false]) {
    const out = torch.scaledDotProductAttention(t64(qs, [B, Tq, D]), t64(kv, [B, T, D]), t64(kv, [B, T, D]), { isCausal: true, allowFused });
    assertTensor(out, [B, Tq, D], 'float64', expected, 1e-12, 1e-12, `causal Tq<Tk allowFused=${allowFused}`);
  }
  assert.throws(() => torch.scaledDotProductAttention(t32(q, shape), t32(k, shape), t32(v, shape), { isCausal: true, mask: torch.ones([T, T], { dtype: 'bool' }) }), /either a mask or isCausal/);
  assert.equal(typeof torch.hasFusedAttention(), 'boolean');
});

// ---- bfloat16 ------------------------------------------------------------------------------------

check('bfloat16 round-trips values with round-to-nearest-even on the top 16 bits', () => {
  const special = [
    0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8), 1 + 2 ** -7, 3.14159, 1e-3, -2.5e-5,
    65504, 1e30, -1e-30, 3.4028234663852886e38, 1e-39, Infinity, -Infinity,
  ];
  const values = [...special, ...normals(200, 121).map((v) => v * 100)].map(Math.fround);
  const expected = values.map(bf16);
  // hand-checked ties: 1 + 2^-8 sits halfway between 1 and 1 + 2^-7 and rounds to the even 1;
  // 1 + 3 * 2^-8 sits halfway between 1 + 2^-7 and 1 + 2^-6 and rounds to the even 1 + 2^-6
  assert.equal(bf16(1 + 2 ** -8), 1);
  assert.equal(bf16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
  assert.equal(bf16(1 + 2 ** -8 + 2 ** -20), 1 + 2 ** -7);
  assert.equal(bf16(3.4028234663852886e38), Infinity);
  const t = torch.tensor(Float32Array.from(values), { dtype: 'bfloat16' });
  assert.equal(t.dtype, 'bfloat16');
  const back = t.toArray();
  assert.ok(back instanceof Float32Array);
  // bit-exact, so -0 and +0 are told apart
  assert.deepEqual(Array.from(new Uint32Array(back.buffer)), Array.from(new Uint32Array(Float32Array.from(expected).buffer)));
  // the stored bytes are the top 16 bits of the float32
  const bytes = new Uint16Array(t.bytes().buffer);
  assert.deepEqual(Array.from(bytes), Array.from(new Uint32Array(Float32Array.from(expected).buffer), (u) => u >>> 16));
  // via to() from float32 and from nested arrays (float64 -> float32 -> bfloat16)
  assert.deepEqual(vals(t32(values).to('bfloat16')), expected);
  const fromNested = torch.tensor([0.1, 2.5, -7.3], { dtype: 'bfloat16' });
  assert.deepEqual(vals(fromNested), [0.1, 2.5, -7.3].map((v) => bf16(Math.fround(v))));
  assert.ok(Number.isNaN(vals(torch.tensor([NaN], { dtype: 'bfloat16' }))[0]!));
  assert.equal(bf16(1.00390625), 1);
});

check('ops on bfloat16 tensors agree with float32 within bf16 tolerance', () => {
  const [M, K, N] = [6, 32, 7];
  const a = normals(M * K, 131).map(bf16);
  const b = normals(K * N, 132).map(bf16);
  const A = t32(a, [M, K]).to('bfloat16');
  const B = t32(b, [K, N]).to('bfloat16');
  // add: the exact sum of two bf16 values, rounded once to bf16 (relative error <= 2^-8)
  const sum = A.add(t32(a.map((v) => v * 0.37), [M, K]).to('bfloat16'));
  assert.equal(sum.dtype, 'bfloat16');
  const sum32 = vals(t32(a, [M, K]).add(t32(a.map((v) => bf16(v * 0.37)), [M, K])));
  assertClose(vals(sum), sum32, 0, 2 ** -8, 'bf16 add vs float32');
  // matmul: float32 accumulation, one bf16 rounding of the result: |err| <= 2^-8 |c| + float32 noise;
  // we allow 2^-8 * sum_k |a_ik b_kj|, which bounds |c| as well
  const C = A.matmul(B);
  assert.equal(C.dtype, 'bfloat16');
  const ref32 = vals(t32(a, [M, K]).matmul(t32(b, [K, N])));
  const refAbs = matmulRef(a, b, M, K, N).abs;
  vals(C).forEach((c, i) => {
    assert.ok(Math.abs(c - ref32[i]!) <= 2 ** -8 * refAbs[i]!, `bf16 matmul element ${i}: ${c} vs ${ref32[i]} (bound ${2 ** -8 * refAbs[i]!})`);
  });
  // softmax: probabilities <= 1, so absolute 2^-8 covers the bf16 rounding of each result
  const logits = normals(4 * 10, 133).map((v) => bf16(3 * v));
  const sm = t32(logits, [4, 10]).to('bfloat16').softmax(-1);
  assert.equal(sm.dtype, 'bfloat16');
  assertClose(vals(sm), vals(t32(logits, [4, 10]).softmax(-1)), 2 ** -8, 0, 'bf16 softmax vs float32');
  assertClose(vals(sm), softmaxRef(logits, [4, 10], -1), 2 ** -8, 0, 'bf16 softmax vs JS');
});
