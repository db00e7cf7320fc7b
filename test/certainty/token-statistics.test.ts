// The fused per-token statistics against a float64 JavaScript reference, across chunk sizes,
// dtypes, the LM-head path and temperature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { tokenStatistics } from '../../src/certainty/token-statistics.ts';

// Independent reference: plain float64 loops over one row of logits.
function reference(row: ArrayLike<number>, target: number, temperature = 1) {
  const z = Array.from(row, (v) => v / temperature);
  const max = Math.max(...z);
  const sumExp = z.reduce((s, v) => s + Math.exp(v - max), 0);
  const lse = max + Math.log(sumExp);
  const p = z.map((v) => Math.exp(v - lse));
  const mean = z.reduce((s, v) => s + v, 0) / z.length;
  return {
    selfCertainty: lse - mean - Math.log(z.length),
    entropy: -p.reduce((s, pj) => s + (pj > 0 ? pj * Math.log(pj) : 0), 0),
    gini: p.reduce((s, pj) => s + pj * pj, 0),
    logprob: z[target]! - lse,
  };
}

function compare(input: torch.Tensor, logits64: Float64Array, vocab: number, targets: number[], stats: ReturnType<typeof tokenStatistics>, tolerance: number, temperature = 1) {
  const got = {
    selfCertainty: stats.selfCertainty.toFloat64Array(),
    entropy: stats.entropy!.toFloat64Array(),
    gini: stats.gini!.toFloat64Array(),
    logprob: stats.logprob!.toFloat64Array(),
  };
  targets.forEach((target, r) => {
    const expected = reference(logits64.subarray(r * vocab, (r + 1) * vocab), target, temperature);
    for (const key of ['selfCertainty', 'entropy', 'gini', 'logprob'] as const) {
      const error = Math.abs(got[key][r]! - expected[key]);
      assert.ok(error <= tolerance * Math.max(1, Math.abs(expected[key])), `row ${r} ${key}: ${got[key][r]} vs ${expected[key]}`);
    }
  });
}

test('every statistic matches the float64 reference for any chunk size', () => {
  torch.scope(() => {
    const g = new torch.Generator(1);
    const [rows, vocab] = [23, 517];
    const logits = torch.randn([rows, vocab], { generator: g }).mul(4);
    const targets = Array.from({ length: rows }, (_, r) => (r * 37) % vocab);
    const t = torch.tensor(targets, { dtype: 'int64' });
    for (const chunkRows of [1, 4, 23, 100]) {
      compare(logits, logits.toFloat64Array(), vocab, targets, tokenStatistics(logits, { targets: t, chunkRows }), 2e-6);
    }
  });
});

test('temperature divides the logits first', () => {
  torch.scope(() => {
    const g = new torch.Generator(2);
    const logits = torch.randn([5, 64], { generator: g }).mul(3);
    const targets = [1, 2, 3, 4, 5];
    compare(logits, logits.toFloat64Array(), 64, targets, tokenStatistics(logits, { targets: torch.tensor(targets, { dtype: 'int64' }), temperature: 0.7 }), 2e-6, 0.7);
  });
});

test('bfloat16 logits are accumulated in float32: results match float64 on the same bf16 values', () => {
  torch.scope(() => {
    const g = new torch.Generator(3);
    const logits = torch.randn([6, 4096], { generator: g }).mul(5).to('bfloat16');
    const targets = [0, 10, 100, 1000, 2000, 4095];
    const stats = tokenStatistics(logits, { targets: torch.tensor(targets, { dtype: 'int64' }) });
    assert.equal(stats.selfCertainty.dtype, 'float32');
    compare(logits, logits.toFloat64Array(), 4096, targets, stats, 2e-6);
  });
});

test('hidden states through the LM head give the statistics of their logits', () => {
  torch.scope(() => {
    const g = new torch.Generator(4);
    const hidden = torch.randn([19, 16], { generator: g });
    const head = torch.randn([300, 16], { generator: g }).mul(0.5);
    const targets = torch.randint(0, 300, [19], { generator: g });
    const fused = tokenStatistics(hidden, { lmHead: head, targets, chunkRows: 4 });
    const plain = tokenStatistics(torch.linear(hidden, head), { targets });
    for (const key of ['selfCertainty', 'entropy', 'gini', 'logprob'] as const) {
      const error = fused[key]!.sub(plain[key]!).abs().max().item();
      assert.ok(error <= 1e-5, `${key}: ${error}`);
    }
  });
});

test("only: 'certainty' skips entropy and gini; without targets there is no logprob", () => {
  torch.scope(() => {
    const stats = tokenStatistics(torch.zeros([2, 8]), { only: 'certainty' });
    assert.equal(stats.entropy, undefined);
    assert.equal(stats.gini, undefined);
    assert.equal(stats.logprob, undefined);
    // uniform logits: KL(U || U) = 0
    assert.ok(stats.selfCertainty.abs().max().item() < 1e-6);
  });
});

test('bad input names what is wrong', () => {
  torch.scope(() => {
    assert.throws(() => tokenStatistics(torch.zeros([2, 3, 4])), /input must be \[rows, V\] logits or \[rows, d\] hidden states, got \[2,3,4\]/);
    assert.throws(() => tokenStatistics(torch.zeros([2, 8]), { lmHead: torch.zeros([10, 4]) }), /LM head weight \[10, 4\] does not match hidden states \[2, 8\]: expected \[V, 8\]/);
    assert.throws(() => tokenStatistics(torch.zeros([2, 8]), { targets: torch.zeros([3], { dtype: 'int64' }) }), /targets must be \[2\], got \[3\]/);
    assert.throws(() => tokenStatistics(torch.zeros([2, 8]), { temperature: 0 }), /temperature must be positive, got 0/);
  });
});
