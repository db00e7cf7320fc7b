// Rotary position embeddings in Hugging Face's convention ("rotate_half": the two halves of each
// head are the pairs, not interleaved even/odd elements), with the rope_scaling variants
// transformers implements for these models: linear, llama3 and yarn (rope-config.ts reads them
// from config.json).
//
//   inv_freq[i] = 1 / theta^(2i / d),  i < d/2             (then rescaled by the variant)
//   angle[p, i] = position[p] * inv_freq[i];  cos/sin = cat(angle, angle) -> [.., T, d]
//   rope(x) = x * cos + rotate_half(x) * sin,  rotate_half([x1, x2]) = [-x2, x1]

import * as torch from '../torch/index.ts';
import type { ModelConfig } from './config.ts';

export interface RopeFrequencies {
  /** [d/2] float32 */
  invFreq: Float32Array;
  /** multiplies cos and sin (yarn's attention factor; 1 otherwise) */
  attentionScaling: number;
}

/** The inverse frequencies of a config, as transformers' ROPE_INIT_FUNCTIONS compute them. */
export function ropeFrequencies(config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): RopeFrequencies {
  const dim = config.headDim;
  const base = config.ropeTheta;
  const half = dim / 2;
  // transformers computes these in float32: round each exponent and power as it does.
  const exponents = Array.from({ length: half }, (_, i) => Math.fround((2 * i) / dim));
  const baseFreq = exponents.map((e) => Math.fround(1 / Math.fround(base ** e)));
  const scaling = config.ropeScaling;
  switch (scaling.type) {
    case 'none':
      return { invFreq: Float32Array.from(baseFreq), attentionScaling: 1 };
    case 'linear':
      return { invFreq: Float32Array.from(baseFreq, (f) => f / scaling.factor), attentionScaling: 1 };
    case 'llama3': {
      const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldContext } = scaling;
      const lowFreqWavelen = oldContext / lowFreqFactor;
      const highFreqWavelen = oldContext / highFreqFactor;
      return {
        invFreq: Float32Array.from(baseFreq, (f) => {
          const wavelen = (2 * Math.PI) / f;
          if (wavelen < highFreqWavelen) return f; // high frequencies: unchanged
          if (wavelen > lowFreqWavelen) return f / factor; // low frequencies: interpolated
          const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
          return (1 - smooth) * (f / factor) + smooth * f;
        }),
        attentionScaling: 1,
      };
    }
    case 'yarn': {
      const { factor, originalMaxPositionEmbeddings, betaFast, betaSlow } = scaling;
      const correctionDim = (rotations: number) => (dim * Math.log(originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
      // the correction range [low, high] in dimensions; whole dimensions unless truncate is false
      const truncate = scaling.truncate ?? true;
      const low = Math.max(truncate ? Math.floor(correctionDim(betaFast)) : correctionDim(betaFast), 0);
      let high = Math.min(truncate ? Math.ceil(correctionDim(betaSlow)) : correctionDim(betaSlow), dim - 1);
      if (low === high) high += 0.001;
      const attentionScaling = scaling.attentionFactor ?? (factor <= 1 ? 1 : 0.1 * Math.log(factor) + 1);
      return {
        invFreq: Float32Array.from(baseFreq, (f, i) => {
          const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
          const extrapolationFactor = 1 - ramp;
          return (f / factor) * (1 - extrapolationFactor) + f * extrapolationFactor;
        }),
        attentionScaling,
      };
    }
  }
}

/**
 * cos and sin for the given positions: positionIds [B, T] int64 -> each [B, 1, T, d] in `dtype`,
 * ready to broadcast over heads.
 */
export function ropeCosSin(frequencies: RopeFrequencies, positionIds: torch.Tensor, dtype: torch.DType): { cos: torch.Tensor; sin: torch.Tensor } {
  return torch.scope(() => {
    const invFreq = torch.tensor(frequencies.invFreq, { device: positionIds.device }); // [d/2]
    const angles = positionIds.float().unsqueeze(-1).mul(invFreq); // [B, T, d/2]
    const emb = torch.cat([angles, angles], -1).unsqueeze(1); // [B, 1, T, d]
    const cos = emb.cos().mul(frequencies.attentionScaling).to(dtype);
    const sin = emb.sin().mul(frequencies.attentionScaling).to(dtype);
    return { cos, sin };
  });
}

/** x [B, H, T, d] rotated by cos/sin [B, 1, T, d]. */
export function applyRope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor): torch.Tensor {
  return torch.scope(() => {
    const half = x.size(-1) / 2;
    const [x1, x2] = x.split(half, -1) as [torch.Tensor, torch.Tensor];
    const rotated = torch.cat([x2.neg(), x1], -1);
    return x.mul(cos).add(rotated.mul(sin));
  });
}
