// The small Qwen2-shaped model the generation and training benchmarks share: Qwen2's layout (q/k/v
// biases, grouped-query attention, tied embeddings, rope theta 1e6) at toy size, 10.96 M parameters
// (8.2 M in the tied embedding), with seeded random weights saved as float32, and a word-level
// tokenizer of exactly its 32000 ids.

import * as torch from '../src/torch/index.ts';
import { CausalLM } from '../src/model/causal-lm.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { expectedParameters } from '../src/model/parameters.ts';
import { saveModel } from '../src/model/load.ts';
import { arithTokenizerWords, buildWordTokenizer, writeWordTokenizer } from '../src/tokenizer/build-word-tokenizer.ts';

export const smallModelConfig = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  hidden_act: 'silu',
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  tie_word_embeddings: true,
  use_sliding_window: false,
  torch_dtype: 'float32',
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
};

export const smallModelWeights = { seed: 20250601, weightStd: 0.02, normNoiseStd: 0.02, biasStd: 0.02 };

/** Draws the weights in expectedParameters' order (matrices N(0, 0.02), norms 1 + N(0, 0.02), biases N(0, 0.02)) and saves the model to `dir`. */
export function saveSmallModel(dir: string): void {
  const config = parseModelConfig(smallModelConfig);
  const s = smallModelWeights;
  const generator = new torch.Generator(s.seed);
  const params = new Map<string, torch.Tensor>();
  torch.noGrad(() => {
    for (const [name, shape] of expectedParameters(config)) {
      const t = torch.randn(shape, { generator });
      if (name.endsWith('norm.weight')) t.mul_(s.normNoiseStd).add_(1);
      else if (name.endsWith('.bias')) t.mul_(s.biasStd);
      else t.mul_(s.weightStd);
      params.set(name, t.keep());
    }
  });
  const made = new CausalLM(config, params);
  try {
    saveModel(made, dir, { dtype: 'float32' });
  } finally {
    made.dispose();
  }
}

/**
 * Writes a word-level tokenizer to `dir`: the arith task's words (as the demo's) padded with filler words
 * to exactly the model's 32000 ids, so that every sampled id decodes; pad <|endoftext|> = 0, EOS
 * <|im_end|> = 2 as in the config.
 */
export function writeSmallModelTokenizer(dir: string): void {
  const words = arithTokenizerWords();
  const base = Object.keys((buildWordTokenizer(words).tokenizerJson.model as { vocab: Record<string, number> }).vocab).length;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const filler = Array.from({ length: smallModelConfig.vocab_size - base }, (_, i) => {
    let w = '';
    for (let n = i; ; n = Math.floor(n / 26) - 1) {
      w = letters[n % 26]! + w;
      if (n < 26) break;
    }
    return `zq${w}`;
  });
  const files = buildWordTokenizer([...words, ...filler], { modelType: smallModelConfig.model_type, modelMaxLength: smallModelConfig.max_position_embeddings });
  const vocab = (files.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
  if (Object.keys(vocab).length !== smallModelConfig.vocab_size || vocab['<|endoftext|>'] !== 0 || vocab['<|im_end|>'] !== 2) {
    throw new Error(`the bench tokenizer has ${Object.keys(vocab).length} ids, expected ${smallModelConfig.vocab_size} with pad 0 and EOS 2`);
  }
  writeWordTokenizer(dir, files);
}
