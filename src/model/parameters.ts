// The parameter names and shapes of a Hugging Face causal LM of a given config, exactly as the
// checkpoints name them (model.layers.N.self_attn.q_proj.weight, ...). Loading checks against
// this list, saving writes it, and new random models are made from it.

import type { ModelConfig } from './config.ts';

export type ParameterShapes = Map<string, readonly number[]>;

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}.`;
}

export function expectedParameters(config: ModelConfig): ParameterShapes {
  const { hiddenSize: d, intermediateSize: ff, numAttentionHeads: h, numKeyValueHeads: kv, headDim: hd, vocabSize: v } = config;
  const shapes: ParameterShapes = new Map();
  shapes.set('model.embed_tokens.weight', [v, d]);
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = layerPrefix(l);
    shapes.set(`${p}input_layernorm.weight`, [d]);
    shapes.set(`${p}self_attn.q_proj.weight`, [h * hd, d]);
    shapes.set(`${p}self_attn.k_proj.weight`, [kv * hd, d]);
    shapes.set(`${p}self_attn.v_proj.weight`, [kv * hd, d]);
    if (config.attentionBias) {
      shapes.set(`${p}self_attn.q_proj.bias`, [h * hd]);
      shapes.set(`${p}self_attn.k_proj.bias`, [kv * hd]);
      shapes.set(`${p}self_attn.v_proj.bias`, [kv * hd]);
    }
    shapes.set(`${p}self_attn.o_proj.weight`, [d, h * hd]);
    if (config.outputBias) shapes.set(`${p}self_attn.o_proj.bias`, [d]);
    if (config.qkNorm) {
      shapes.set(`${p}self_attn.q_norm.weight`, [hd]);
      shapes.set(`${p}self_attn.k_norm.weight`, [hd]);
    }
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}mlp.gate_proj.weight`, [ff, d]);
    shapes.set(`${p}mlp.up_proj.weight`, [ff, d]);
    shapes.set(`${p}mlp.down_proj.weight`, [d, ff]);
    if (config.mlpBias) {
      shapes.set(`${p}mlp.gate_proj.bias`, [ff]);
      shapes.set(`${p}mlp.up_proj.bias`, [ff]);
      shapes.set(`${p}mlp.down_proj.bias`, [d]);
    }
  }
  shapes.set('model.norm.weight', [d]);
  // A tied head reuses the embedding matrix; checkpoints then omit lm_head.weight.
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [v, d]);
  return shapes;
}
