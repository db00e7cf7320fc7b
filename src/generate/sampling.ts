// Next-token choice from logits [B, V]: greedy, or sampling after Hugging Face's warpers in
// generate()'s order: temperature, top-k, top-p (nucleus), min-p.

import * as torch from '../torch/index.ts';

export interface SamplingOptions {
  /** 0 means greedy; default 1 */
  temperature?: number;
  /** keep the k most likely tokens (0 = off) */
  topK?: number;
  /** keep the smallest set of tokens whose probability reaches p (1 = off) */
  topP?: number;
  /** drop tokens less likely than minP x the most likely one (0 = off) */
  minP?: number;
}

export function checkSamplingOptions(options: SamplingOptions): Required<SamplingOptions> {
  const resolved = { temperature: options.temperature ?? 1, topK: options.topK ?? 0, topP: options.topP ?? 1, minP: options.minP ?? 0 };
  if (!(resolved.temperature >= 0 && Number.isFinite(resolved.temperature))) throw new RangeError(`temperature must be a finite number >= 0, got ${resolved.temperature}`);
  if (!(Number.isInteger(resolved.topK) && resolved.topK >= 0)) throw new RangeError(`topK must be an integer >= 0, got ${resolved.topK}`);
  if (!(resolved.topP > 0 && resolved.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${resolved.topP}`);
  if (!(resolved.minP >= 0 && resolved.minP < 1)) throw new RangeError(`minP must be in [0, 1), got ${resolved.minP}`);
  return resolved;
}

/** logits [B, V] -> the warped logits [B, V] (removed tokens at -inf). */
export function warpLogits(logits: torch.Tensor, options: Required<SamplingOptions>): torch.Tensor {
  return torch.scope(() => {
    let x = options.temperature === 1 ? logits.float() : logits.float().div(options.temperature);
    const vocab = x.size(-1);
    if (options.topK > 0 && options.topK < vocab) {
      const kth = x.topk(options.topK, { dim: -1 }).values.narrow(-1, options.topK - 1, 1); // [B, 1]
      x = x.maskedFill(x.lt(kth), -Infinity);
    }
    if (options.topP < 1) {
      const { values, indices } = x.sort(-1, true); // descending
      const probs = values.softmax(-1);
      // Drop a token when the tokens before it already reach topP; the most likely one always stays.
      const before = probs.cumsum(-1).sub(probs);
      const dropSorted = before.ge(options.topP);
      const drop = dropSorted.scatter(-1, indices, dropSorted);
      x = x.maskedFill(drop, -Infinity);
    }
    if (options.minP > 0) {
      const probs = x.softmax(-1);
      const threshold = probs.amax(-1, true).mul(options.minP); // [B, 1]
      x = x.maskedFill(probs.lt(threshold), -Infinity);
    }
    return x;
  });
}

/**
 * One token id per row of logits [B, V] -> [B] int64. With several generators, the rows form
 * consecutive groups of B / generators.length rows, each sampled from its own generator, so a
 * group's draws do not depend on which other groups share the batch.
 */
export function chooseTokens(logits: torch.Tensor, options: Required<SamplingOptions>, generators: torch.Generator | readonly torch.Generator[]): torch.Tensor {
  return torch.scope(() => {
    if (options.temperature === 0) return logits.argmax(-1);
    // Our generators are CPU generators: the draw happens on the CPU wherever the logits live, so
    // a seed gives the same tokens on every device.
    const probs = warpLogits(logits, options).softmax(-1).to('cpu'); // [B, V]
    const draw = (p: torch.Tensor, generator: torch.Generator) => p.multinomial(1, { generator });
    let chosen: torch.Tensor;
    if (!Array.isArray(generators)) chosen = draw(probs, generators as torch.Generator);
    else {
      const groupSize = probs.size(0) / generators.length;
      if (!Number.isInteger(groupSize)) throw new Error(`chooseTokens: ${probs.size(0)} rows do not split into ${generators.length} equal groups`);
      chosen = torch.cat(generators.map((generator, g) => draw(probs.narrow(0, g * groupSize, groupSize), generator)), 0);
    }
    return chosen.squeeze(-1).to(logits.device);
  });
}

/**
 * OpenAI's repetition penalties, over the tokens a row has generated so far (not its prompt):
 *   logits[t] -= count[t] * frequencyPenalty + (count[t] > 0) * presencePenalty
 * Positive values discourage repeats, negative ones encourage them.
 */
export interface PenaltyOptions {
  /** -2..2, default 0 */
  frequencyPenalty?: number;
  /** -2..2, default 0 */
  presencePenalty?: number;
}

/** The penalties to apply, or undefined when both are 0 (sampling then takes the unpenalised path). */
export function checkPenalties(options: PenaltyOptions): Required<PenaltyOptions> | undefined {
  const resolved = { frequencyPenalty: options.frequencyPenalty ?? 0, presencePenalty: options.presencePenalty ?? 0 };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isFinite(value) && value >= -2 && value <= 2)) throw new RangeError(`${name} must be a number in [-2, 2], got ${value}`);
  }
  return resolved.frequencyPenalty === 0 && resolved.presencePenalty === 0 ? undefined : resolved;
}

/** logits [B, V] and counts [B, V] (how often each row generated each token) -> penalised logits [B, V]. */
export function penalizeLogits(logits: torch.Tensor, counts: torch.Tensor, penalties: Required<PenaltyOptions>): torch.Tensor {
  return torch.scope(() => {
    let x = logits.float();
    if (penalties.frequencyPenalty !== 0) x = x.sub(counts.mul(penalties.frequencyPenalty));
    if (penalties.presencePenalty !== 0) x = x.sub(counts.gt(0).float().mul(penalties.presencePenalty));
    return x;
  });
}
