// Rotary embeddings: the frequencies of each scaling variant against transformers' formulas
// written out here, and the rotate_half convention on a hand-computed case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { applyRope, ropeCosSin, ropeFrequencies } from '../../src/model/rope.ts';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('default frequencies: 1 / theta^(2i/d)', () => {
  const { invFreq, attentionScaling } = ropeFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'none' } });
  assert.equal(attentionScaling, 1);
  [1, 0.1, 0.01, 0.001].forEach((expected, i) => close(invFreq[i]!, expected, 1e-6, `inv_freq[${i}]`));
});

test('linear scaling divides every frequency by the factor', () => {
  const plain = ropeFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'none' } }).invFreq;
  const scaled = ropeFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 4 } }).invFreq;
  plain.forEach((f, i) => close(scaled[i]!, f / 4, 1e-7, `inv_freq[${i}]`));
});

test('llama3 scaling keeps high frequencies, divides low ones, blends the middle', () => {
  // head_dim 8, theta 500000, the llama-tiny fixture's scaling: wavelengths 2pi, ~168, ~4.5e3, ~1.2e5.
  const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
  const base = ropeFrequencies({ headDim: 8, ropeTheta: 500000, ropeScaling: { type: 'none' } }).invFreq;
  const { invFreq } = ropeFrequencies({ headDim: 8, ropeTheta: 500000, ropeScaling: scaling });
  const lowWavelen = 64 / 1; // longer than this: divided by 8
  const highWavelen = 64 / 4; // shorter than this: unchanged
  base.forEach((f, i) => {
    const wavelen = (2 * Math.PI) / f;
    let expected: number;
    if (wavelen < highWavelen) expected = f;
    else if (wavelen > lowWavelen) expected = f / 8;
    else {
      const smooth = (64 / wavelen - 1) / (4 - 1);
      expected = (1 - smooth) * (f / 8) + smooth * f;
    }
    close(invFreq[i]!, expected, 1e-6, `inv_freq[${i}] (wavelength ${wavelen.toFixed(1)})`);
  });
  assert.equal(invFreq[0], base[0], 'the highest frequency is untouched');
  close(invFreq[3]!, base[3]! / 8, 1e-7, 'the lowest frequency is interpolated');
});

test('yarn scaling: attention factor 0.1 ln(s) + 1 and a ramp between extrapolation and interpolation', () => {
  const { invFreq, attentionScaling } = ropeFrequencies({
    headDim: 16,
    ropeTheta: 10000,
    ropeScaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 64, betaFast: 32, betaSlow: 1, attentionFactor: undefined },
  });
  close(attentionScaling, 0.1 * Math.log(4) + 1, 1e-12, 'attention factor');
  const base = ropeFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: 'none' } }).invFreq;
  close(invFreq[0]!, base[0]!, 1e-7, 'fastest dimension extrapolates (unchanged)');
  close(invFreq[7]!, base[7]! / 4, 1e-7, 'slowest dimension interpolates (divided by the factor)');
});

test('yarn with truncate false keeps the fractional correction range', () => {
  // head_dim 16, theta 1e4, 64 original positions: the range is [0, d(1)] with d(r) = 16 ln(64 / 2 pi r) / (2 ln 1e4) ~ 2.02
  const scaling = { type: 'yarn' as const, factor: 4, originalMaxPositionEmbeddings: 64, betaFast: 32, betaSlow: 1, attentionFactor: undefined };
  const base = ropeFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: 'none' } }).invFreq;
  const high = (16 * Math.log(64 / (2 * Math.PI))) / (2 * Math.log(10000));
  const blend = (i: number, ramp: number) => (base[i]! / 4) * ramp + base[i]! * (1 - ramp);
  const fractional = ropeFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { ...scaling, truncate: false } }).invFreq;
  const whole = ropeFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: scaling }).invFreq;
  close(fractional[1]!, blend(1, 1 / high), 1e-6, 'truncate false: ramp 1 / 2.02');
  close(whole[1]!, blend(1, 1 / Math.ceil(high)), 1e-6, 'truncate (default): ramp 1 / 3');
});

test('rotate_half convention on a hand-computed case', () => {
  torch.scope(() => {
    // One head of size 4 at position 1 with inv_freq [1, 0.01]: angles [1, 0.01, 1, 0.01].
    const frequencies = { invFreq: Float32Array.from([1, 0.01]), attentionScaling: 1 };
    const { cos, sin } = ropeCosSin(frequencies, torch.tensor([[1]], { dtype: 'int64' }), 'float64');
    assert.deepEqual(cos.shape, [1, 1, 1, 4]);
    const x = torch.tensor([[[[1, 2, 3, 4]]]], { dtype: 'float64' });
    const out = applyRope(x, cos, sin).toFloat64Array();
    const [c0, c1, s0, s1] = [Math.cos(1), Math.cos(0.01), Math.sin(1), Math.sin(0.01)];
    // pairs are (x0, x2) and (x1, x3): out = [x0 c - x2 s, x1 c - x3 s, x2 c + x0 s, x3 c + x1 s]
    const expected = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
    expected.forEach((e, i) => close(out[i]!, e, 1e-6, `out[${i}]`));
  });
});
