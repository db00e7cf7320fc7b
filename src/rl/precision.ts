// The optimizer for training a model in its compute dtype (`--dtype`, checked in config.ts).
//
// float32 trains as it always did. bfloat16 and float16 compute forward and backward in that dtype
// while MixedPrecisionAdamW (src/torch/mixed-precision.ts) keeps float32 master weights and
// moments; float16 adds dynamic loss scaling.

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { loadParameters } from '../model/load.ts';

/**
 * The optimizer for training `model` in its own dtype. With a bfloat16/float16 model and
 * `weightsDir` (the folder it was loaded from), the float32 masters start from the folder's own
 * weights, so a float32 checkpoint loses nothing to the first rounding; without it they start from
 * the model's weights, widened (exact when the folder holds bfloat16 weights, as most releases do).
 */
export function trainingOptimizer(model: CausalLM, weightsDir: string | undefined, options: torch.AdamWOptions): torch.MixedPrecisionAdamW {
  const params = model.parameters();
  if (weightsDir === undefined || params.every((p) => p.dtype === 'float32')) return new torch.MixedPrecisionAdamW(params, options);
  const full = loadParameters(weightsDir, model.config, { dtype: 'float32', device: model.device });
  try {
    return new torch.MixedPrecisionAdamW(params, { ...options, masters: [...model.params.keys()].map((name) => full.get(name)!) });
  } finally {
    for (const t of full.values()) t.dispose();
  }
}
