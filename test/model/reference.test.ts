// CausalLM against an independent float64 reference of the Hugging Face decoder
// (test/helpers/decoder-reference.ts: plain loops, no torch) on tiny random float64 models, for
// the paths the golden fixtures do not cover: Qwen3 (per-head q/k RMSNorm, head_dim !=
// hidden/heads, no biases), Mistral's sliding window (full pass and KV-cache decoding), Llama
// with attention and MLP biases, linear and yarn rope scaling, and a left-padded Qwen3 batch.
//
// Tolerance 1e-10 on the logits. transformers leaves float64 in two places even for a float64
// model (RMSNorm normalises in float32; the rotary table is computed in float32), and CausalLM
// does the same, so the reference reproduces those float32 islands bit for bit:
//   - the RMSNorm sum of squares is added in the order ATen's CPU kernel adds (its vector width
//     is detected once below by comparing the reference's RMSNorm with torch.rmsNorm);
//   - the cos/sin table is torch's float32 cos/sin (libm results are not correctly rounded, so no
//     JavaScript formula gives the same last bit), after checking that it is within one float32 ulp
//     of the table the reference computes itself from the positions it derives.
// With its own correctly rounded sums and cos/sin the reference agrees only to float32 level
// (~1e-7 relative); a test below shows that too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { expectedParameters } from '../../src/model/parameters.ts';
import { CausalLM } from '../../src/model/causal-lm.ts';
import { KVCache } from '../../src/model/kv-cache.ts';
import { ropeCosSin } from '../../src/model/rope.ts';
import {
  atenSumF32,
  exactSumF32,
  positionIdsFromMask,
  referenceLogits,
  referenceRmsNorm,
  referenceRopeTable,
  type ReferenceNumerics,
  type Weights,
} from '../helpers/decoder-reference.ts';

const TOLERANCE = 1e-10;
const VOCAB = 50;

// ---- the float32 sum order of this libtorch ------------------------------------------------------

/** The vector width whose ATen sum order reproduces torch.rmsNorm exactly on random rows, or undefined. */
function detectSumWidth(): number | undefined {
  return torch.noGrad(() =>
    torch.scope(() => {
      const g = new torch.Generator(7);
      const rows = [4, 6, 8, 16, 24, 32].map((n) => {
        const x = torch.randn([64, n], { dtype: 'float64', generator: g });
        const w = torch.randn([n], { dtype: 'float64', generator: g });
        return { n, x: x.toFloat64Array(), w: w.toFloat64Array(), y: torch.rmsNorm(x, w, 1e-6).toFloat64Array() };
      });
      return [8, 16].find((width) => {
        const sum = atenSumF32(width);
        return rows.every(({ n, x, w, y }) => {
          for (let r = 0; r < 64; r++) {
            const out = referenceRmsNorm(x.subarray(r * n, (r + 1) * n), w, 1e-6, sum);
            if (out.some((v, i) => v !== y[r * n + i])) return false;
          }
          return true;
        });
      });
    }),
  );
}
const sumWidth = detectSumWidth();
const sumF32 = atenSumF32(sumWidth ?? 8);

test('RMSNorm: the reference reproduces torch.rmsNorm bit for bit (float32 island, ATen summation order)', () => {
  assert.notEqual(sumWidth, undefined, 'torch.rmsNorm sums float32 squares in an order the reference does not emulate (neither 8- nor 16-wide ATen vectors)');
});

// ---- random float64 models -----------------------------------------------------------------------

interface RandomModel {
  config: ModelConfig;
  model: CausalLM;
  weights: Weights;
}

/** parseModelConfig(raw) with seeded random float64 values for every expected parameter. */
function randomModel(raw: Record<string, unknown>, seed: number): RandomModel {
  const config = parseModelConfig(raw);
  const generator = new torch.Generator(seed);
  const params = new Map<string, torch.Tensor>();
  const weights = new Map<string, Float64Array>();
  for (const [name, shape] of expectedParameters(config)) {
    const value = torch.scope(() => {
      const r = torch.randn([...shape], { dtype: 'float64', generator });
      if (name.endsWith('norm.weight')) return r.mul(0.2).add(1).keep();
      if (name.endsWith('.bias')) return r.mul(0.2).keep();
      if (name === 'model.embed_tokens.weight') return r.keep();
      return r.mul(1 / Math.sqrt(shape[1]!)).keep(); // Linear weights [out, in]
    });
    params.set(name, value);
    weights.set(name, value.toFloat64Array());
  }
  return { config, model: new CausalLM(config, params), weights };
}

/** The same parameters under another config (a different window or rope scaling); dispose only the original. */
function sameWeights(m: RandomModel, raw: Record<string, unknown>): RandomModel {
  const config = parseModelConfig(raw);
  return { config, model: new CausalLM(config, m.model.params), weights: m.weights };
}

/** Runs fn in a scope under noGrad, disposes the models, and checks that no tensor outlives the test. */
function withModels(fn: () => void, ...disposeAfter: RandomModel[]): void {
  const before = torch.memoryStats().liveTensors;
  try {
    torch.noGrad(() => torch.scope(fn));
  } finally {
    for (const m of disposeAfter) m.model.dispose();
  }
  assert.equal(torch.memoryStats().liveTensors, before - disposeAfter.reduce((n, m) => n + m.model.params.size, 0), 'tensors leaked');
}

// ---- the reference's logits, with the float32 islands taken as CausalLM's engine rounds them -------

/**
 * The reference logits of ids [B][T] (optionally left padded), with torch's float32 cos/sin for the
 * positions the reference derives from the mask, after checking that table against the reference's own.
 */
function reference(m: RandomModel, ids: number[][], attentionMask?: number[][]): Float64Array[] {
  const mask = attentionMask ?? ids.map((row) => row.map(() => 1));
  const positions = positionIdsFromMask(mask);
  const [B, T, D] = [ids.length, ids[0]!.length, m.config.headDim];
  const { cos, sin } = ropeCosSin(m.model.rope, torch.tensor(positions, { dtype: 'int64' }), 'float64'); // [B, 1, T, D]
  const torchTable = { cos: [] as Float64Array[], sin: [] as Float64Array[] };
  const c = cos.toFloat64Array();
  const s = sin.toFloat64Array();
  for (let b = 0; b < B; b++) {
    torchTable.cos.push(c.slice(b * T * D, (b + 1) * T * D));
    torchTable.sin.push(s.slice(b * T * D, (b + 1) * T * D));
  }
  const own = referenceRopeTable(positions, m.model.rope.invFreq, m.model.rope.attentionScaling);
  for (let b = 0; b < B; b++) {
    for (const [name, got, expected] of [['cos', torchTable.cos[b]!, own.cos[b]!], ['sin', torchTable.sin[b]!, own.sin[b]!]] as const) {
      expected.forEach((e, i) => {
        // one float32 ulp of libm difference, at most 2^-23 |e|, and once more for the scaling's product
        assert.ok(Math.abs(got[i]! - e) <= 2 ** -22 * Math.abs(e), `rope ${name} table [${b}, t ${Math.floor(i / D)}, ${i % D}]: torch ${got[i]} vs reference ${e}`);
      });
    }
  }
  const numerics: ReferenceNumerics = { sumF32, ropeTable: torchTable };
  return referenceLogits(m.config, m.weights, ids, { invFreq: m.model.rope.invFreq, attentionScaling: m.model.rope.attentionScaling, attentionMask: mask, numerics });
}

/** max |a - b| over the real (mask 1) positions of logits [B, T, V] against reference rows. */
function maxError(logits: torch.Tensor, expected: Float64Array[], mask?: number[][]): number {
  assert.equal(logits.dtype, 'float64', 'CausalLM computes in the parameters\' dtype (float64)');
  const [B, T, V] = logits.shape as [number, number, number];
  assert.equal(expected.length, B);
  const got = logits.toFloat64Array();
  let max = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      if (mask && mask[b]![t] === 0) continue;
      for (let v = 0; v < V; v++) {
        const error = Math.abs(got[(b * T + t) * V + v]! - expected[b]![t * V + v]!);
        if (!(error <= max)) max = error; // NaN propagates
      }
    }
  }
  return max;
}

/** max |a - b| between two tensors of the same shape, per position t of [B, T, V]. */
function errorsPerPosition(a: torch.Tensor, b: torch.Tensor): number[] {
  return Array.from(a.sub(b).abs().amax(-1).amax(0).toFloat64Array());
}

function assertMatches(what: string, logits: torch.Tensor, expected: Float64Array[], mask?: number[][]): number {
  const error = maxError(logits, expected, mask);
  assert.ok(error <= TOLERANCE, `${what}: max |logit - reference| = ${error} > ${TOLERANCE}`);
  return error;
}

const ids7 = [[3, 17, 42, 8, 0, 33, 21]];
const observed: Record<string, number> = {};

// ---- the cases -----------------------------------------------------------------------------------

const qwen3 = {
  model_type: 'qwen3',
  vocab_size: VOCAB,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 8, // != 24 / 4
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
};

test('qwen3: per-head q/k RMSNorm before RoPE, head_dim 8 != hidden 24 / 4 heads, no biases, tied head', () => {
  const m = randomModel(qwen3, 1);
  assert.equal(m.config.qkNorm, true);
  assert.equal(m.config.headDim, 8);
  assert.ok(![...expectedParameters(m.config).keys()].some((name) => name.endsWith('.bias')), 'qwen3 has no biases');
  assert.deepEqual(expectedParameters(m.config).get('model.layers.0.self_attn.q_proj.weight'), [32, 24]);
  withModels(() => {
    const logits = m.model.forward(torch.tensor(ids7, { dtype: 'int64' }));
    observed.qwen3 = assertMatches('qwen3', logits, reference(m, ids7));
  }, m);
});

test('qwen3: a left-padded batch of two rows (generate() position ids) matches at every real position', () => {
  const m = randomModel(qwen3, 2);
  const ids = [
    [0, 0, 5, 9, 14, 2, 40],
    [11, 23, 7, 7, 30, 1, 48],
  ];
  const mask = [
    [0, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1],
  ];
  withModels(() => {
    const logits = m.model.forward(torch.tensor(ids, { dtype: 'int64' }), { attentionMask: torch.tensor(mask, { dtype: 'int64' }) });
    observed['qwen3 left-padded'] = assertMatches('qwen3 left-padded batch', logits, reference(m, ids, mask), mask);
    // the padded row equals that prompt alone, unpadded (positions restart at 0 after the padding)
    const alone = m.model.forward(torch.tensor([ids[0]!.slice(2)], { dtype: 'int64' }));
    const error = logits.narrow(0, 0, 1).narrow(1, 2, 5).sub(alone).abs().max().item();
    assert.ok(error <= TOLERANCE, `padded row vs the same prompt alone: ${error}`);
  }, m);
});

const mistral = {
  model_type: 'mistral',
  vocab_size: VOCAB,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  sliding_window: 3,
  tie_word_embeddings: false,
};

test('mistral: sliding window 3 < T = 7 matches, and differs from a window wider than T exactly from position 3 on', () => {
  const m = randomModel(mistral, 3);
  const wide = sameWeights(m, { ...mistral, sliding_window: 100 });
  assert.equal(m.config.slidingWindow, 3);
  withModels(() => {
    const ids = torch.tensor(ids7, { dtype: 'int64' });
    const windowed = m.model.forward(ids);
    observed['mistral window 3'] = assertMatches('mistral window 3', windowed, reference(m, ids7));
    const full = wide.model.forward(ids);
    observed['mistral window 100'] = assertMatches('mistral window 100', full, reference(wide, ids7));
    // positions 0..2 see at most 3 keys either way; from 3 on the window drops keys
    const perPosition = errorsPerPosition(windowed, full);
    perPosition.forEach((e, t) => {
      if (t < 3) assert.ok(e <= TOLERANCE, `position ${t} sees the same keys under both windows, yet differs by ${e}`);
      else assert.ok(e > 1e-3, `position ${t}: the window of 3 should change the logits, max difference ${e}`);
    });
  }, m);
});

test('mistral: KV-cache decoding (prefill 4, then one token at a time) equals the full forward and the reference', () => {
  const m = randomModel(mistral, 4);
  withModels(() => {
    const ids = torch.tensor(ids7, { dtype: 'int64' });
    const full = m.model.forward(ids);
    const cache = new KVCache(m.config, { batchSize: 1, maxLength: 7, dtype: m.model.dtype });
    try {
      const parts = [m.model.forward(ids.narrow(1, 0, 4), { cache })];
      for (let t = 4; t < 7; t++) parts.push(m.model.forward(ids.narrow(1, t, 1), { cache }));
      const decoded = torch.cat(parts, 1);
      const error = decoded.sub(full).abs().max().item();
      assert.ok(error <= TOLERANCE, `cache vs full forward: ${error}`);
      observed['mistral window 3, KV cache'] = assertMatches('mistral KV-cache decoding', decoded, reference(m, ids7));
    } finally {
      cache.dispose();
    }
  }, m);
});

const llama = {
  model_type: 'llama',
  vocab_size: VOCAB,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 8192,
  tie_word_embeddings: false,
};

test('llama: attention_bias (q/k/v and o_proj) and mlp_bias (gate/up/down)', () => {
  const m = randomModel({ ...llama, attention_bias: true, mlp_bias: true }, 5);
  const names = [...expectedParameters(m.config).keys()];
  for (const bias of ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((p) => `model.layers.1.self_attn.${p}.bias`).concat(['gate_proj', 'up_proj', 'down_proj'].map((p) => `model.layers.1.mlp.${p}.bias`))) {
    assert.ok(names.includes(bias), `expected parameter ${bias}`);
  }
  withModels(() => {
    observed['llama biases'] = assertMatches('llama with biases', m.model.forward(torch.tensor(ids7, { dtype: 'int64' })), reference(m, ids7));
  }, m);
});

for (const [name, ropeScaling] of [
  ['linear', { rope_type: 'linear', factor: 4 }],
  // original 2048 with head_dim 8: the ramp runs over dims 1..3, so one frequency is kept, one
  // interpolated and one blended half-way; attention factor 0.1 ln 4 + 1
  ['yarn', { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 2048 }],
] as const) {
  test(`llama: ${name} rope scaling`, () => {
    const m = randomModel({ ...llama, rope_scaling: ropeScaling }, 6);
    const plain = sameWeights(m, llama);
    assert.equal(m.config.ropeScaling.type, name);
    withModels(() => {
      const ids = torch.tensor(ids7, { dtype: 'int64' });
      const scaled = m.model.forward(ids);
      observed[`llama ${name} rope`] = assertMatches(`llama ${name} rope scaling`, scaled, reference(m, ids7));
      const difference = scaled.sub(plain.model.forward(ids)).abs().max().item();
      assert.ok(difference > 1e-3, `${name} scaling should change the logits, max difference ${difference}`);
    }, m);
  });
}

test('the float32 islands: with its own correctly rounded sums and cos/sin the reference agrees only to float32 level', (t) => {
  const m = randomModel(qwen3, 1);
  withModels(() => {
    const logits = m.model.forward(torch.tensor(ids7, { dtype: 'int64' }));
    const independent = referenceLogits(m.config, m.weights, ids7, {
      invFreq: m.model.rope.invFreq,
      attentionScaling: m.model.rope.attentionScaling,
      numerics: { sumF32: exactSumF32 },
    });
    const scale = logits.abs().max().item();
    const error = maxError(logits, independent);
    t.diagnostic(`fully independent numerics: max error ${error.toExponential(2)} on logits up to ${scale.toFixed(1)}`);
    assert.ok(error <= 1e-6 * scale, `error ${error} is beyond float32 rounding of logits up to ${scale}`);
  }, m);
});

test('observed max errors', (t) => {
  t.diagnostic(`ATen float32 sum vector width: ${sumWidth}`);
  for (const [name, error] of Object.entries(observed)) t.diagnostic(`${name}: ${error.toExponential(2)}`);
});
