// The decoder of Qwen2/Qwen2.5, Qwen3, Llama and Mistral, computed as Hugging Face transformers
// computes it, so that logits match the reference to float rounding (attention goes through
// scaled-dot-product attention, which equals transformers' eager path in float32):
//
//   h = embed(ids)
//   per layer: h += o_proj(attention(rope(q), rope(k), v))  on rmsNorm(h)
//              h += down_proj(silu(gate_proj(x)) * up_proj(x)) with x = rmsNorm(h)
//   logits = lm_head(rmsNorm(h))          (lm_head = embed_tokens when tied)
//
// Attention is grouped-query (query head h reads kv head h / (H / Hkv)), causal, with a padding
// mask for left-padded batches; masked scores get the dtype's most negative finite value rather
// than -inf, as transformers does, so a fully padded row stays finite instead of turning into NaN.

import * as torch from '../torch/index.ts';
import type { ModelConfig } from './config.ts';
import type { KVCache } from './kv-cache.ts';
import { layerPrefix } from './parameters.ts';
import { applyRope, ropeCosSin, ropeFrequencies, type RopeFrequencies } from './rope.ts';

export interface ForwardOptions {
  /** [B, past + T]: 1 for real tokens, 0 for padding (covers the cached positions too) */
  attentionMask?: torch.Tensor;
  /** [B, T]; derived from the mask as generate() does when omitted */
  positionIds?: torch.Tensor;
  /** incremental decoding: reads and extends the cache */
  cache?: KVCache;
  /** 'hidden' returns the final normed hidden states [B, T, d] instead of logits [B, T, V] */
  output?: 'logits' | 'hidden';
}

const mostNegative: Record<string, number> = { float32: -3.4028234663852886e38, float64: -1.7976931348623157e308, bfloat16: -3.3895313892515355e38, float16: -65504 };

export class CausalLM {
  readonly config: ModelConfig;
  /** the parameters under their Hugging Face names; a tied lm_head is not listed separately */
  readonly params: ReadonlyMap<string, torch.Tensor>;
  readonly rope: RopeFrequencies;

  constructor(config: ModelConfig, params: ReadonlyMap<string, torch.Tensor>) {
    this.config = config;
    this.params = params;
    this.rope = ropeFrequencies(config);
  }

  get dtype(): torch.DType {
    return this.#param('model.embed_tokens.weight').dtype;
  }
  get device(): string {
    return this.#param('model.embed_tokens.weight').device;
  }
  /** Each parameter tensor once (for optimizers and gradient clipping). */
  parameters(): torch.Tensor[] {
    return [...this.params.values()];
  }
  /** The output projection [V, d]: lm_head.weight, or the embedding matrix when tied. */
  get lmHeadWeight(): torch.Tensor {
    return this.config.tieWordEmbeddings ? this.#param('model.embed_tokens.weight') : this.#param('lm_head.weight');
  }

  #param(name: string): torch.Tensor {
    const p = this.params.get(name);
    if (p === undefined) throw new Error(`the model has no parameter ${name}`);
    return p;
  }
  #optional(name: string): torch.Tensor | undefined {
    return this.params.get(name);
  }

  /** inputIds [B, T] int64 -> logits [B, T, V] (or hidden states [B, T, d]). */
  forward(inputIds: torch.Tensor, options: ForwardOptions = {}): torch.Tensor {
    if (inputIds.ndim !== 2) throw new Error(`forward: inputIds must be [batch, time], got shape [${inputIds.shape}]`);
    const [batch, time] = inputIds.shape as [number, number];
    const { cache } = options;
    const past = cache?.length ?? 0;
    if (options.attentionMask && options.attentionMask.shape.join() !== [batch, past + time].join()) {
      throw new Error(`forward: attentionMask must be [${batch}, ${past + time}] (cached + new positions), got [${options.attentionMask.shape}]`);
    }
    if (cache && cache.batchSize !== batch) throw new Error(`forward: the cache holds ${cache.batchSize} rows but inputIds has ${batch}`);
    return torch.scope(() => {
      const positionIds = options.positionIds ?? this.#positionIds(batch, time, past, options.attentionMask);
      const { cos, sin } = ropeCosSin(this.rope, positionIds, this.dtype);
      const mask = this.#attentionMask(batch, time, past, options.attentionMask);
      let h = torch.embedding(inputIds, this.#param('model.embed_tokens.weight')); // [B, T, d]
      for (let layer = 0; layer < this.config.numHiddenLayers; layer++) h = this.#decoderLayer(layer, h, cos, sin, mask, cache);
      cache?.advance(time);
      const hidden = this.#finalNorm(h);
      return options.output === 'hidden' ? hidden : torch.linear(hidden, this.lmHeadWeight);
    });
  }

  /**
   * The training forward (no cache) as a chain for torch.checkpointedBackward: the embedding, one
   * segment per decoder layer, and `head` applied to the final normed hidden states [B, T, d].
   * The mask and rotary tables are made once, in the caller's scope: they need no gradient.
   */
  checkpointedChain(inputIds: torch.Tensor, options: Pick<ForwardOptions, 'attentionMask' | 'positionIds'>, head: (hidden: torch.Tensor) => torch.Tensor): torch.CheckpointedChain {
    const [batch, time] = inputIds.shape as [number, number];
    const positionIds = options.positionIds ?? this.#positionIds(batch, time, 0, options.attentionMask);
    const { cos, sin } = ropeCosSin(this.rope, positionIds, this.dtype);
    const mask = this.#attentionMask(batch, time, 0, options.attentionMask);
    return {
      first: () => torch.embedding(inputIds, this.#param('model.embed_tokens.weight')),
      segments: Array.from({ length: this.config.numHiddenLayers }, (_, layer) => (h: torch.Tensor) => this.#decoderLayer(layer, h, cos, sin, mask, undefined)),
      head: (h) => head(this.#finalNorm(h)),
    };
  }

  // Pre-norm residual block: h [B, T, d] -> [B, T, d]
  #decoderLayer(layer: number, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | null, cache: KVCache | undefined): torch.Tensor {
    const p = layerPrefix(layer);
    const attended = h.add(this.#attention(layer, torch.rmsNorm(h, this.#param(`${p}input_layernorm.weight`), this.config.rmsNormEps), cos, sin, mask, cache));
    return attended.add(this.#mlp(layer, torch.rmsNorm(attended, this.#param(`${p}post_attention_layernorm.weight`), this.config.rmsNormEps)));
  }

  #finalNorm(h: torch.Tensor): torch.Tensor {
    return torch.rmsNorm(h, this.#param('model.norm.weight'), this.config.rmsNormEps);
  }

  // x [B, T, d] -> [B, T, d]
  #attention(layer: number, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | null, cache: KVCache | undefined): torch.Tensor {
    const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = this.config;
    const [batch, time] = x.shape as [number, number];
    const p = `${layerPrefix(layer)}self_attn.`;
    const project = (name: string, n: number) =>
      torch.linear(x, this.#param(`${p}${name}.weight`), this.#optional(`${p}${name}.bias`)).view(batch, time, n, headDim).transpose(1, 2); // [B, n, T, D]
    let q = project('q_proj', heads);
    let k = project('k_proj', kvHeads);
    let v = project('v_proj', kvHeads);
    if (this.config.qkNorm) {
      q = torch.rmsNorm(q, this.#param(`${p}q_norm.weight`), this.config.rmsNormEps);
      k = torch.rmsNorm(k, this.#param(`${p}k_norm.weight`), this.config.rmsNormEps);
    }
    q = applyRope(q, cos, sin);
    k = applyRope(k, cos, sin);
    if (cache) [k, v] = cache.update(layer, k, v); // [B, Hkv, past + T, D]
    const groups = heads / kvHeads;
    let out: torch.Tensor; // [B, H, T, D]
    if (groups > 1 && mask !== null) {
      // Query head h reads kv head h / groups: fold each kv head's query heads into its query rows,
      // [B, Hkv, groups * T, D], and attend over k/v as they are, without copying them per group.
      const grouped = q.reshape(batch, kvHeads, groups * time, headDim);
      const groupedMask = mask.repeat(1, 1, groups, 1); // [., 1, groups * T, Tk], rows (group, t)
      out = torch.scaledDotProductAttention(grouped, k, v, { mask: groupedMask }).reshape(batch, heads, time, headDim);
    } else {
      if (groups > 1) {
        k = k.repeatInterleave(groups, 1); // [B, H, Tk, D]: head h reads kv head h / groups
        v = v.repeatInterleave(groups, 1);
      }
      out = torch.scaledDotProductAttention(q, k, v, mask === null ? { isCausal: true } : { mask });
    }
    const merged = out.transpose(1, 2).reshape(batch, time, heads * headDim);
    return torch.linear(merged, this.#param(`${p}o_proj.weight`), this.#optional(`${p}o_proj.bias`));
  }

  // SwiGLU: x [B, T, d] -> [B, T, d]
  #mlp(layer: number, x: torch.Tensor): torch.Tensor {
    const p = `${layerPrefix(layer)}mlp.`;
    const proj = (name: string, input: torch.Tensor) => torch.linear(input, this.#param(`${p}${name}.weight`), this.#optional(`${p}${name}.bias`));
    return proj('down_proj', proj('gate_proj', x).silu().mul(proj('up_proj', x)));
  }

  // generate()'s convention: real tokens count 0, 1, 2, ... from the first real one; padding gets 1.
  #positionIds(batch: number, time: number, past: number, attentionMask: torch.Tensor | undefined): torch.Tensor {
    if (attentionMask === undefined) return torch.arange(past, past + time, 1, { device: this.device }).unsqueeze(0).expand(batch, time);
    const real = attentionMask.ne(0);
    const positions = real.long().cumsum(-1).sub(1).maskedFill(real.logicalNot(), 1); // [B, past + T]
    return positions.narrow(1, past, time);
  }

  // Additive mask [B, 1, T, past + T] (0 where a query may attend, most negative value elsewhere),
  // or null when plain causal attention over the new tokens says it all.
  #attentionMask(batch: number, time: number, past: number, attentionMask: torch.Tensor | undefined): torch.Tensor | null {
    const window = this.config.slidingWindow;
    const windowMatters = window !== undefined && past + time > window;
    if (attentionMask === undefined && past === 0 && !windowMatters) return null;
    const keys = past + time;
    const queryIndex = torch.arange(past, keys, 1, { device: this.device }).unsqueeze(1); // [T, 1]
    const keyIndex = torch.arange(0, keys, 1, { device: this.device }).unsqueeze(0); // [1, Tk]
    let allowed = keyIndex.le(queryIndex); // [T, Tk] causal
    if (windowMatters) allowed = allowed.logicalAnd(queryIndex.sub(keyIndex).lt(window));
    let allowed4d = allowed.unsqueeze(0).unsqueeze(0); // [1, 1, T, Tk]
    if (attentionMask !== undefined) allowed4d = allowed4d.logicalAnd(attentionMask.ne(0).view(batch, 1, 1, keys)); // [B, 1, T, Tk]
    const additive = torch.zeros([allowed4d.size(0), 1, time, keys], { dtype: this.dtype, device: this.device });
    return additive.maskedFill(allowed4d.logicalNot(), mostNegative[this.dtype] ?? -1e30);
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }
}
