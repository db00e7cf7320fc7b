// The fused chunked LM head + log-softmax + gather (native/src/linear-logprob.cc, torch.linearLogprob)
// against the composed ops it replaces, linear(h, w).float().div(T).logSoftmax(-1).gather(targets):
// forward values for chunk sizes that do and do not divide the rows (and chunk 1), gradients w.r.t.
// hidden and weight against the composed path's autograd (float64 and float32) and against central
// differences (test/helpers/gradcheck.ts), temperature, bfloat16, a gradient for only one input,
// noGrad, the detached statistics, and the errors for bad shapes, dtypes and targets.
// Every test declared with `check` asserts that it leaves no live tensor behind.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { tokenStatistics } from '../../src/certainty/token-statistics.ts';
import { assertClose, check, gradcheck, i64, normals, randn, t32, t64, vals } from '../helpers/gradcheck.ts';

const [N, D, V] = [10, 6, 13];
const targetIds = (n: number, vocab: number): number[] => Array.from({ length: n }, (_, i) => (i * 5 + 3) % vocab);

/** The composed path (what src/rl/policy.ts computed before the fused kernel). */
function composed(h: Tensor, w: Tensor, targets: Tensor, temperature = 1): Tensor {
  const logits = torch.linear(h, w);
  const z = logits.dtype === 'float64' ? logits : logits.float();
  return z.div(temperature).logSoftmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
}

/** Fresh leaves of the same values (so that each path gets its own .grad). */
const leaf = (data: number[], shape: number[], dtype: 'float64' | 'float32' | 'bfloat16'): Tensor =>
  torch.tensor(Float64Array.from(data), { shape }).to(dtype).requiresGrad_();

/** Forward, then backward of sum(out * r): [values, grad hidden, grad weight] as numbers. */
function run(f: (h: Tensor, w: Tensor) => Tensor, h: Tensor, w: Tensor, seed: number): [number[], number[], number[]] {
  const out = f(h, w);
  const r = t64(normals(out.numel, seed), out.shape).to(out.dtype);
  out.mul(r).sum().backward();
  return [vals(out.to('float64')), vals(h.grad!.to('float64')), vals(w.grad!.to('float64'))];
}

const maxAbs = (xs: number[]): number => xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

check('forward equals the composed ops in float64 for any chunk size, temperature and leading dims', () => {
  const h = t64(randn([N, D], 1, 2).data, [N, D]);
  const w = t64(randn([V, D], 2).data, [V, D]);
  const targets = i64(targetIds(N, V));
  for (const temperature of [1, 0.7, 1.6]) {
    const expected = vals(composed(h, w, targets, temperature));
    for (const chunkRows of [1, 3, 4, 7, N, 1024]) {
      const got = torch.linearLogprob(h, w, targets, { temperature, chunkRows });
      assert.equal(got.dtype, 'float64');
      assertClose(vals(got), expected, 1e-12, 1e-12, `T ${temperature} chunk ${chunkRows}`);
    }
  }
  // [2, 5, d] hidden and [2, 5] targets: flattened, then viewed back
  const got = torch.linearLogprob(h.view(2, 5, D), w, targets.view(2, 5), { chunkRows: 3 });
  assert.deepEqual(got.shape, [2, 5]);
  assertClose(vals(got), vals(composed(h, w, targets)), 1e-12, 1e-12, 'leading dims');
  // float32 inputs: float32 out, within float32 rounding of the float64 result
  const got32 = torch.linearLogprob(h.float(), w.float(), targets, { temperature: 0.7, chunkRows: 4 });
  assert.equal(got32.dtype, 'float32');
  assertClose(vals(got32), vals(composed(h.float().double(), w.float().double(), targets, 0.7)), 2e-5, 2e-6, 'float32');
});

check('gradients w.r.t. hidden and weight equal the composed path in float64 and float32', () => {
  const hd = randn([N, D], 11, 1.5).data;
  const wd = randn([V, D], 12).data;
  const targets = i64(targetIds(N, V));
  for (const [temperature, chunkRows] of [[1, 1], [0.8, 3], [1.3, 7], [0.8, 100]] as const) {
    const fused = run((h, w) => torch.linearLogprob(h, w, targets, { temperature, chunkRows }), leaf(hd, [N, D], 'float64'), leaf(wd, [V, D], 'float64'), 5);
    const reference = run((h, w) => composed(h, w, targets, temperature), leaf(hd, [N, D], 'float64'), leaf(wd, [V, D], 'float64'), 5);
    ['value', 'grad hidden', 'grad weight'].forEach((what, i) => assertClose(fused[i]!, reference[i]!, 1e-12, 1e-11, `float64 T ${temperature} chunk ${chunkRows}: ${what}`));
    const fused32 = run((h, w) => torch.linearLogprob(h, w, targets, { temperature, chunkRows }), leaf(hd, [N, D], 'float32'), leaf(wd, [V, D], 'float32'), 5);
    const reference32 = run((h, w) => composed(h, w, targets, temperature), leaf(hd, [N, D], 'float32'), leaf(wd, [V, D], 'float32'), 5);
    ['value', 'grad hidden', 'grad weight'].forEach((what, i) => {
      const scale = Math.max(1, maxAbs(reference32[i]!));
      assertClose(fused32[i]!, reference32[i]!, 2e-6 * scale, 0, `float32 T ${temperature} chunk ${chunkRows}: ${what}`);
    });
  }
});

check('gradcheck: linearLogprob w.r.t. hidden and weight (central differences, float64)', () => {
  const targets = i64([4, 0, 2, 4, 1]);
  gradcheck('linearLogprob', [randn([5, 3], 21), randn([6, 3], 22, 2)], (h, w) => torch.linearLogprob(h, w, targets, { temperature: 0.9, chunkRows: 2 }));
  gradcheck('linearLogprob [2, 2, d]', [randn([2, 2, 3], 23), randn([4, 3], 24)], (h, w) => torch.linearLogprob(h, w, i64([3, 0, 1, 3], [2, 2]), { chunkRows: 3 }));
});

check('a gradient only for the input that requires one', () => {
  const hd = randn([N, D], 31).data;
  const wd = randn([V, D], 32).data;
  const targets = i64(targetIds(N, V));
  const f = (h: Tensor, w: Tensor) => torch.linearLogprob(h, w, targets, { temperature: 0.8, chunkRows: 4 });
  const [, gh, gw] = run((h, w) => composed(h, w, targets, 0.8), leaf(hd, [N, D], 'float64'), leaf(wd, [V, D], 'float64'), 9);
  const r = t64(normals(N, 9));

  const hOnly = leaf(hd, [N, D], 'float64');
  const wConst = t64(wd, [V, D]);
  f(hOnly, wConst).mul(r).sum().backward();
  assertClose(vals(hOnly.grad!), gh, 1e-12, 1e-11, 'hidden only');
  assert.equal(wConst.grad, null);

  const hConst = t64(hd, [N, D]);
  const wOnly = leaf(wd, [V, D], 'float64');
  f(hConst, wOnly).mul(r).sum().backward();
  assertClose(vals(wOnly.grad!), gw, 1e-12, 1e-11, 'weight only');
  assert.equal(hConst.grad, null);

  // neither: a constant, like any op on constants
  assert.equal(f(hConst, wConst).requiresGrad, false);
});

check('under noGrad it is the forward alone', () => {
  const h = t64(randn([N, D], 41).data, [N, D]).requiresGrad_();
  const w = t64(randn([V, D], 42).data, [V, D]).requiresGrad_();
  const targets = i64(targetIds(N, V));
  const out = torch.noGrad(() => torch.linearLogprob(h, w, targets, { chunkRows: 3 }));
  assert.equal(out.requiresGrad, false);
  assertClose(vals(out), torch.noGrad(() => vals(composed(h, w, targets))), 1e-12, 1e-12, 'noGrad');
});

check('bfloat16 inputs: logits from the bfloat16 matmul, float32 softmax, bfloat16 gradients', () => {
  const hd = randn([N, D], 51).data;
  const wd = randn([V, D], 52).data;
  const targets = i64(targetIds(N, V));
  const h = leaf(hd, [N, D], 'bfloat16');
  const w = leaf(wd, [V, D], 'bfloat16');
  const fused = run((a, b) => torch.linearLogprob(a, b, targets, { temperature: 0.9, chunkRows: 3 }), h, w, 13);
  assert.equal(h.grad!.dtype, 'bfloat16');
  assert.equal(w.grad!.dtype, 'bfloat16');
  // the float64 truth on the same (bfloat16-rounded) numbers; bfloat16 has 8 significant bits
  const truth = run((a, b) => composed(a, b, targets, 0.9), leaf(vals(h), [N, D], 'float64'), leaf(vals(w), [V, D], 'float64'), 13);
  ['value', 'grad hidden', 'grad weight'].forEach((what, i) => {
    const scale = Math.max(1, maxAbs(truth[i]!));
    assertClose(fused[i]!, truth[i]!, 3e-2 * scale, 0, `bfloat16 ${what}`);
  });
  // and the forward is the composed bfloat16 path's
  const composedBf16 = torch.noGrad(() => vals(composed(h, w, targets, 0.9)));
  assertClose(fused[0]!, composedBf16, 1e-5, 1e-5, 'bfloat16 forward vs composed');
});

check('withStatistics: self-certainty and entropy of the same logits, detached', () => {
  const h = t64(randn([N, D], 61, 2).data, [N, D]).float().requiresGrad_();
  const w = t32(randn([V, D], 62).data, [V, D]);
  const targets = i64(targetIds(N, V)).view(2, 5);
  const logits = torch.noGrad(() => torch.linear(h, w)); // [N, V]
  for (const certaintyTemperature of [1, 0.8]) {
    const out = torch.linearLogprobWithStatistics(h.view(2, 5, D), w, targets, { temperature: 0.9, certaintyTemperature, chunkRows: 3 });
    assert.deepEqual([out.logprob.shape, out.selfCertainty.shape, out.entropy.shape], [[2, 5], [2, 5], [2, 5]]);
    assert.equal(out.logprob.requiresGrad, true);
    assert.equal(out.selfCertainty.requiresGrad || out.entropy.requiresGrad, false);
    assertClose(vals(out.selfCertainty), vals(tokenStatistics(logits, { temperature: certaintyTemperature }).selfCertainty), 1e-6, 1e-6, 'selfCertainty');
    assertClose(vals(out.entropy), vals(tokenStatistics(logits).entropy!), 1e-6, 1e-6, 'entropy');
    assertClose(vals(out.logprob), vals(torch.linearLogprob(h, w, targets.view(-1), { temperature: 0.9 })), 0, 0, 'logprob');
  }
});

check('bad shapes, dtypes, targets and options give clear errors', () => {
  const h = torch.zeros([4, 3]);
  const w = torch.zeros([5, 3]);
  const t = i64([0, 1, 2, 4]);
  const bad = (f: () => unknown, message: RegExp) => assert.throws(f, { message });
  bad(() => torch.linearLogprob(h, torch.zeros([5, 2]), t), /^linearLogprob: the LM head weight \[5, 2\] does not match hidden \[4, 3\]: expected \[V, 3\]/);
  bad(() => torch.linearLogprob(h, torch.zeros([5]), t), /^linearLogprob: the LM head weight must be 2-D \[V, d\]/);
  bad(() => torch.linearLogprob(h, torch.zeros([0, 3]), t), /^linearLogprob: the LM head weight has no rows \(V = 0\)/);
  bad(() => torch.linearLogprob(h, w.double(), t), /^linearLogprob: hidden and the LM head weight must have the same dtype, got Float and Double/);
  bad(() => torch.linearLogprob(h.to('int64'), w.to('int64'), t), /^linearLogprob: hidden must be float32, float64, bfloat16 or float16, got Long/);
  bad(() => torch.linearLogprob(h, w, t.to('int32')), /^linearLogprob: targets must be int64, got Int/);
  bad(() => torch.linearLogprob(h, w, i64([0, 1, 2])), /^linearLogprob: hidden \[4,3\] must be \[\.\., d\] and targets \[3\] its leading dims \[4\]/);
  bad(() => torch.linearLogprob(h, w, i64([0, 1, 5, 2])), /^linearLogprob: targets must be token ids in \[0, 5\), got values from 0 to 5/);
  bad(() => torch.linearLogprob(h, w, i64([0, -1, 2, 2])), /^linearLogprob: targets must be token ids in \[0, 5\), got values from -1 to 2/);
  bad(() => torch.linearLogprob(h, w, t, { temperature: 0 }), /^linearLogprob: temperature must be a positive number, got 0/);
  bad(() => torch.linearLogprob(h, w, t, { chunkRows: 0 }), /^linearLogprob: chunkRows must be at least 1, got 0/);
  bad(() => torch.linearLogprobWithStatistics(h, w, t, { certaintyTemperature: -1 }), /^linearLogprob: certaintyTemperature must be a positive number, got -1/);
  // and a good call still works afterwards
  assert.deepEqual(vals(torch.linearLogprob(h, w, t)).map((v) => v.toFixed(6)), Array(4).fill((-Math.log(5)).toFixed(6)));
});

check('no tensors outlive a forward and backward, and the graph can be run once', () => {
  const before = torch.memoryStats().liveTensors;
  torch.scope(() => {
    const h = t32(randn([N, D], 71).data, [N, D]).requiresGrad_();
    const w = t32(randn([V, D], 72).data, [V, D]).requiresGrad_();
    const out = torch.linearLogprob(h, w, i64(targetIds(N, V)), { chunkRows: 3 });
    out.sum().backward();
    assert.throws(() => out.sum().backward(), /backward/);
  });
  assert.equal(torch.memoryStats().liveTensors, before);
});
