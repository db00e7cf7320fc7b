// New models with random weights, as transformers initialises them (initializer_range 0.02): every
// linear and embedding matrix from N(0, 0.02^2), RMSNorm weights 1, biases 0. The draws come from
// one seeded torch.Generator in the fixed order of expectedParameters(), so a seed gives the same
// bytes every time. Architecture presets name small configs for tasks like the built-in arith.

import * as torch from '../torch/index.ts';
import { CausalLM } from './causal-lm.ts';
import { dtypeFields, parseModelConfig } from './config.ts';
import { expectedParameters } from './parameters.ts';

/** config.json fields of the named presets (vocab_size and the special ids come from the tokenizer). */
export const MODEL_PRESETS: Record<string, Record<string, unknown>> = {
  'arith-tiny': {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: 128,
    intermediate_size: 352,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    initializer_range: 0.02,
    use_sliding_window: false,
  },
};

export interface TokenizerIds {
  vocabSize: number;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  padTokenId: number | undefined;
}

/** The config.json of a new model: `base` (a preset or a file's fields) with the tokenizer's sizes and ids. */
export function newModelConfigJson(base: Record<string, unknown>, tokenizer: TokenizerIds): Record<string, unknown> {
  const bos = tokenizer.bosTokenId ?? tokenizer.padTokenId;
  return {
    ...base,
    model_type: base.model_type ?? 'qwen2',
    vocab_size: tokenizer.vocabSize,
    ...(bos !== undefined ? { bos_token_id: bos } : {}),
    ...(tokenizer.eosTokenId !== undefined ? { eos_token_id: tokenizer.eosTokenId } : {}),
    ...(tokenizer.padTokenId !== undefined ? { pad_token_id: tokenizer.padTokenId } : {}),
    ...dtypeFields(base, 'float32'),
  };
}

/** A model of `configJson` with freshly drawn weights; the parameters live until model.dispose(). */
export function initModel(configJson: Record<string, unknown>, seed: number): CausalLM {
  const config = parseModelConfig(configJson, {}, 'the new config');
  const std = typeof configJson.initializer_range === 'number' ? configJson.initializer_range : 0.02;
  const generator = new torch.Generator(seed);
  const params = new Map<string, torch.Tensor>();
  for (const [name, shape] of expectedParameters(config)) {
    const value = torch.scope(() => {
      if (name.endsWith('norm.weight')) return torch.ones(shape);
      if (name.endsWith('.bias')) return torch.zeros(shape);
      return torch.randn(shape, { generator }).mul(std);
    });
    params.set(name, value.keep());
  }
  return new CausalLM(config, params);
}
