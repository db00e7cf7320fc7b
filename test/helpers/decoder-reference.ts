// An independent reference for the Hugging Face decoder (Qwen2/Qwen3/Llama/Mistral modeling code in
// transformers), written as plain JavaScript loops over Float64Array: no torch here.
// test/model/reference.test.ts compares CausalLM with it.
//
//   h = embed_tokens[ids]; per layer:
//     x = RMSNorm(h); q, k, v = x W^T + b (biases where the config has them)
//     Qwen3: RMSNorm of each head's head_dim slice of q and k (q_norm, k_norm), then RoPE (rotate_half)
//     query head h reads kv head floor(h / (H / Hkv)); key j is visible to query i when j <= i, the
//     mask has 1 at j, and i - j < sliding_window (absolute indices, as the 4D mask uses them);
//     softmax(q k^T / sqrt(head_dim)) over the visible keys, in float64 as the SDPA path computes it
//     (the eager path would softmax in float32 even for a float64 model); o_proj (+ bias)
//     h += attention; h += down(silu(gate(x)) * up(x)) with x = RMSNorm(h) (+ biases with mlp_bias)
//   logits = RMSNorm(h) lm_head^T (embed_tokens when tied); position ids cumsum(mask) - 1, 1 on padding
//
// Everything is float64 except where transformers itself leaves float64 for float32, so that a
// float64 model can be compared to float rounding (1e-10) instead of to float32 noise:
//   - RMSNorm (LlamaRMSNorm, Qwen3RMSNorm, ...) upcasts to float32, not to the input dtype:
//       x32 = float32(x); var = mean(x32^2) in float32; y = float32(x32 * rsqrt(var + eps))
//       out = weight * float64(y)
//   - the rotary table: inv_freq is float32 and `freqs = inv_freq @ position_ids.float()` and
//     `emb.cos() * attention_scaling` run in float32 under autocast(enabled=False); only then
//     are cos/sin cast to the model dtype.
// The float32 bits of those two islands are not all fixed by IEEE: the sum of squares depends on
// the order in which the engine adds (`sumF32`), and float32 cos/sin are libm approximations
// that are not always correctly rounded (`ropeTable`). The numerics option says which to use;
// by default the sum is exact then rounded once and cos/sin are Math.cos/Math.sin rounded once.

import type { ModelConfig } from '../../src/model/config.ts';

const f32 = Math.fround;

export type Weights = ReadonlyMap<string, Float64Array>;

export interface ReferenceNumerics {
  /** The float32 sum of float32 values (the RMSNorm variance); default: exact, rounded once. */
  sumF32?: (values: Float64Array) => number;
  /**
   * The rotary table for each row: cos and sin [B][T * headDim], already multiplied by the
   * attention scaling and widened to float64. Default: computed here from invFreq.
   */
  ropeTable?: { cos: Float64Array[]; sin: Float64Array[] };
}

export interface ReferenceOptions {
  /** inv_freq [headDim / 2] (ropeFrequencies(config).invFreq: float32 values) */
  invFreq: ArrayLike<number>;
  /** cos and sin are multiplied by it (yarn's attention factor, 1 otherwise) */
  attentionScaling: number;
  /** [B][T]: 1 real, 0 padding; default all real */
  attentionMask?: readonly (readonly number[])[];
  numerics?: ReferenceNumerics;
}

/** The exact float32 rounding of the sum (partial sums in float64 are exact enough for short rows). */
export function exactSumF32(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return f32(s);
}

/**
 * ATen's CPU float32 sum over a contiguous inner dimension (aten/src/ATen/native/cpu/SumKernel.cpp,
 * cascade_sum: vectorized_inner_sum when the row holds at least one vector, else scalar_inner_sum),
 * with vectors of `width` floats: 8 for the AVX2 and default kernels, 16 for AVX512. Rows of up to
 * 63 vectors (multi_row_sum's cascade levels only start at 16 rows of 4 accumulators).
 */
export function atenSumF32(width: number): (values: Float64Array) => number {
  // row_sum: four accumulators over the row read as [-1, 4], the leftovers into the first, then combined.
  const rowSum = <T>(items: readonly T[], zero: () => T, add: (a: T, b: T) => T): T => {
    const rows = Math.floor(items.length / 4);
    if (rows >= 16) throw new Error(`atenSumF32: ${items.length} items are more than this emulation covers`);
    const acc = [zero(), zero(), zero(), zero()];
    for (let i = 0; i < rows; i++) for (let k = 0; k < 4; k++) acc[k] = add(acc[k]!, items[4 * i + k]!);
    for (let i = rows * 4; i < items.length; i++) acc[0] = add(acc[0]!, items[i]!);
    for (let k = 1; k < 4; k++) acc[0] = add(acc[0]!, acc[k]!);
    return acc[0]!;
  };
  const addScalar = (a: number, b: number) => f32(a + b);
  const addVector = (a: Float64Array, b: Float64Array) => Float64Array.from(a, (x, j) => f32(x + b[j]!));
  return (v) => {
    const n = v.length;
    if (n < width) return rowSum(Array.from(v), () => 0, addScalar);
    const count = Math.floor(n / width);
    const vectors = Array.from({ length: count }, (_, q) => v.subarray(q * width, (q + 1) * width));
    const lanes = rowSum(vectors, () => new Float64Array(width), addVector);
    let s = 0;
    for (let k = count * width; k < n; k++) s = f32(s + v[k]!); // the tail first, then the lanes in order
    for (let j = 0; j < width; j++) s = f32(s + lanes[j]!);
    return s;
  };
}

/** transformers' RMSNorm of one vector, with its float32 island. */
export function referenceRmsNorm(x: Float64Array, weight: Float64Array, eps: number, sumF32: (v: Float64Array) => number): Float64Array {
  const n = x.length;
  const x32 = Float64Array.from(x, f32);
  const squares = Float64Array.from(x32, (v) => f32(v * v));
  const variance = f32(sumF32(squares) / n);
  const scale = f32(1 / f32(Math.sqrt(f32(variance + f32(eps)))));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = weight[i]! * f32(x32[i]! * scale);
  return out;
}

/** y = W x + b with W [out, in] row-major (nn.Linear). */
function linear(x: Float64Array, w: Float64Array, bias: Float64Array | undefined, out: number): Float64Array {
  const inDim = x.length;
  if (w.length !== out * inDim) throw new Error(`linear: weight has ${w.length} elements, expected ${out} x ${inDim}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < inDim; i++) s += w[o * inDim + i]! * x[i]!;
    y[o] = bias ? s + bias[o]! : s;
  }
  return y;
}

const silu = (z: number) => z / (1 + Math.exp(-z));

/** generate()'s position ids: cumsum(mask) - 1, and 1 where the mask is 0. */
export function positionIdsFromMask(mask: readonly (readonly number[])[]): number[][] {
  return mask.map((row) => {
    let count = 0;
    return row.map((m) => {
      if (m !== 0) count++;
      return m !== 0 ? count - 1 : 1;
    });
  });
}

/** The rotary table as transformers computes it: float32 angles, float32 cos/sin times the scaling. */
export function referenceRopeTable(positions: readonly (readonly number[])[], invFreq: ArrayLike<number>, attentionScaling: number): { cos: Float64Array[]; sin: Float64Array[] } {
  const half = invFreq.length;
  const headDim = 2 * half;
  const scaling = f32(attentionScaling);
  const cos: Float64Array[] = [];
  const sin: Float64Array[] = [];
  for (const row of positions) {
    const c = new Float64Array(row.length * headDim);
    const s = new Float64Array(row.length * headDim);
    row.forEach((p, t) => {
      for (let i = 0; i < headDim; i++) {
        const angle = f32(f32(p) * f32(invFreq[i % half]!)); // emb = cat(freqs, freqs)
        c[t * headDim + i] = f32(f32(Math.cos(angle)) * scaling);
        s[t * headDim + i] = f32(f32(Math.sin(angle)) * scaling);
      }
    });
    cos.push(c);
    sin.push(s);
  }
  return { cos, sin };
}

/**
 * The logits [B][T][V] (flattened per row: Float64Array(T * V)) of input ids [B][T], all
 * positions computed in one pass (no cache), as transformers' forward with generate()'s
 * position ids would give them.
 */
export function referenceLogits(config: ModelConfig, weights: Weights, inputIds: readonly (readonly number[])[], options: ReferenceOptions): Float64Array[] {
  const { hiddenSize: d, numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: D, intermediateSize: ff, vocabSize: V, rmsNormEps: eps } = config;
  const sumF32 = options.numerics?.sumF32 ?? exactSumF32;
  const w = (name: string): Float64Array => {
    const t = weights.get(name);
    if (!t) throw new Error(`reference: no weight ${name}`);
    return t;
  };
  const opt = (name: string): Float64Array | undefined => weights.get(name);
  const B = inputIds.length;
  const T = inputIds[0]!.length;
  const mask = options.attentionMask ?? inputIds.map((row) => row.map(() => 1));
  const positions = positionIdsFromMask(mask);
  const table = options.numerics?.ropeTable ?? referenceRopeTable(positions, options.invFreq, options.attentionScaling);
  const groups = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  const window = config.slidingWindow;
  const half = D / 2;

  const rope = (x: Float64Array, cos: Float64Array, sin: Float64Array, t: number): Float64Array => {
    // x * cos + rotate_half(x) * sin, rotate_half([x1, x2]) = [-x2, x1]
    const out = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      const rotated = i < half ? -x[i + half]! : x[i - half]!;
      out[i] = x[i]! * cos[t * D + i]! + rotated * sin[t * D + i]!;
    }
    return out;
  };

  const logits: Float64Array[] = [];
  for (let b = 0; b < B; b++) {
    const embed = w('model.embed_tokens.weight');
    let h: Float64Array[] = inputIds[b]!.map((id) => embed.slice(id * d, (id + 1) * d));
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const p = `model.layers.${layer}.`;
      const a = `${p}self_attn.`;
      // per position: q [H][D], k and v [Hkv][D]
      const q: Float64Array[][] = [];
      const k: Float64Array[][] = [];
      const v: Float64Array[][] = [];
      for (let t = 0; t < T; t++) {
        const x = referenceRmsNorm(h[t]!, w(`${p}input_layernorm.weight`), eps, sumF32);
        const qAll = linear(x, w(`${a}q_proj.weight`), opt(`${a}q_proj.bias`), H * D);
        const kAll = linear(x, w(`${a}k_proj.weight`), opt(`${a}k_proj.bias`), Hkv * D);
        const vAll = linear(x, w(`${a}v_proj.weight`), opt(`${a}v_proj.bias`), Hkv * D);
        const heads = (all: Float64Array, n: number, norm: string | undefined) =>
          Array.from({ length: n }, (_, j) => {
            let head: Float64Array = all.slice(j * D, (j + 1) * D); // q.view(*input_shape, -1, head_dim): head j is a contiguous slice
            if (norm !== undefined) head = referenceRmsNorm(head, w(norm), eps, sumF32);
            return rope(head, table.cos[b]!, table.sin[b]!, t);
          });
        q.push(heads(qAll, H, config.qkNorm ? `${a}q_norm.weight` : undefined));
        k.push(heads(kAll, Hkv, config.qkNorm ? `${a}k_norm.weight` : undefined));
        v.push(Array.from({ length: Hkv }, (_, j) => vAll.slice(j * D, (j + 1) * D)));
      }
      const next: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        const merged = new Float64Array(H * D);
        for (let head = 0; head < H; head++) {
          const kv = Math.floor(head / groups);
          const keys: number[] = [];
          for (let j = 0; j <= t; j++) {
            if (mask[b]![j] === 0) continue;
            if (window !== undefined && t - j >= window) continue;
            keys.push(j);
          }
          if (keys.length === 0) continue; // a padded query with nothing to attend to: never compared
          const scores = keys.map((j) => {
            let s = 0;
            for (let i = 0; i < D; i++) s += q[t]![head]![i]! * k[j]![kv]![i]!;
            return s * scale;
          });
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const total = e.reduce((x, y) => x + y, 0);
          keys.forEach((j, n) => {
            const pj = e[n]! / total;
            for (let i = 0; i < D; i++) merged[head * D + i]! += pj * v[j]![kv]![i]!;
          });
        }
        const attended = linear(merged, w(`${a}o_proj.weight`), opt(`${a}o_proj.bias`), d);
        const h1 = Float64Array.from(h[t]!, (x, i) => x + attended[i]!);
        const x = referenceRmsNorm(h1, w(`${p}post_attention_layernorm.weight`), eps, sumF32);
        const gate = linear(x, w(`${p}mlp.gate_proj.weight`), opt(`${p}mlp.gate_proj.bias`), ff);
        const up = linear(x, w(`${p}mlp.up_proj.weight`), opt(`${p}mlp.up_proj.bias`), ff);
        const act = Float64Array.from(gate, (g, i) => silu(g) * up[i]!);
        const down = linear(act, w(`${p}mlp.down_proj.weight`), opt(`${p}mlp.down_proj.bias`), d);
        next.push(Float64Array.from(h1, (x, i) => x + down[i]!));
      }
      h = next;
    }
    const head = config.tieWordEmbeddings ? w('model.embed_tokens.weight') : w('lm_head.weight');
    const out = new Float64Array(T * V);
    for (let t = 0; t < T; t++) out.set(linear(referenceRmsNorm(h[t]!, w('model.norm.weight'), eps, sumF32), head, undefined, V), t * V);
    logits.push(out);
  }
  return logits;
}
