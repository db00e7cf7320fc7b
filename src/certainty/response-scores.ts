// Per-response confidence scores of a model for (prompt, response) pairs (Kang et al. 2025):
//
//   selfCertainty(o | q) = (1/n) sum_i KL(U || p_i)        (the paper's score; higher = more confident)
//   entropy = (1/n) sum_i H(p_i)                           (lower = more confident)
//   meanLogprob = (1/n) sum_i log p_i(o_i),  perplexity = exp(-meanLogprob)
//   distributionalPerplexity = (1/n) sum_i exp(H(p_i)),  gini = (1/n) sum_i sum_j p_ij^2
//
// Alignment: token o_i is scored with the distribution that predicted it, the logits at sequence
// position promptLength + i - 1. Masking: padding and every token after the first EOS are left out;
// the EOS token itself counts. Scores come from final hidden states through the LM head in row
// chunks (memory O(chunk x V)), accumulated in float32, on logits / certaintyTemperature.

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { packPromptCompletions } from '../model/pack.ts';
import { tokenStatistics } from './token-statistics.ts';

export interface ScoredPair {
  prompt: readonly number[];
  response: readonly number[];
}

export interface ResponseScores {
  /** tokens scored (response up to and including its first EOS) */
  tokens: number;
  selfCertainty: number;
  entropy: number;
  meanLogprob: number;
  perplexity: number;
  distributionalPerplexity: number;
  gini: number;
  /** per scored token: KL(U || p_i) */
  tokenSelfCertainty: number[];
}

export interface ScoreOptions {
  /** divides logits before scoring (the verl variant); default 1 */
  certaintyTemperature?: number;
  /** a response ends at its first token in this set (default: the model's eos ids) */
  eosTokenIds?: readonly number[];
  /** pairs per forward pass (default 8) */
  batchSize?: number;
}

/** Scores each response under the model, without gradients. */
export function scoreResponses(model: CausalLM, pairs: readonly ScoredPair[], options: ScoreOptions = {}): ResponseScores[] {
  const batchSize = options.batchSize ?? 8;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const scores: ResponseScores[] = [];
  for (let start = 0; start < pairs.length; start += batchSize) {
    scores.push(...scoreBatch(model, pairs.slice(start, start + batchSize), eos, options.certaintyTemperature ?? 1));
  }
  return scores;
}

/** The response up to and including its first EOS. */
export function truncateAtEos(response: readonly number[], eos: ReadonlySet<number>): readonly number[] {
  const end = response.findIndex((id) => eos.has(id));
  return end === -1 ? response : response.slice(0, end + 1);
}

function scoreBatch(model: CausalLM, pairs: readonly ScoredPair[], eos: ReadonlySet<number>, temperature: number): ResponseScores[] {
  const responses = pairs.map((p) => truncateAtEos(p.response, eos));
  const packed = packPromptCompletions(pairs.map((p, b) => ({ prompt: p.prompt, completion: responses[b]! })), model.config.padTokenId ?? 0);
  const { length, completionWidth: maxResponse } = packed;
  const table = torch.noGrad(() =>
    torch.scope(() => {
      const input = torch.tensor(packed.inputIds, { dtype: 'int64', device: model.device });
      const hidden = model.forward(input, { attentionMask: torch.tensor(packed.attentionMask, { dtype: 'int64', device: model.device }), output: 'hidden' }); // [B, L, d]
      const predicting = hidden.narrow(1, length - maxResponse - 1, maxResponse).reshape(-1, hidden.size(-1)); // [B * R, d]
      const targets = input.narrow(1, length - maxResponse, maxResponse).reshape(-1); // [B * R]
      const stats = tokenStatistics(predicting, { lmHead: model.lmHeadWeight, targets, temperature });
      return torch.stack([stats.selfCertainty, stats.entropy!, stats.logprob!, stats.gini!], 1).toFloat64Array(); // [B * R, 4]
    }),
  );
  return responses.map((response, b) => {
    const n = response.length;
    const rows = Array.from({ length: n }, (_, i) => (b * maxResponse + (maxResponse - n + i)) * 4);
    const mean = (column: number, f: (v: number) => number = (v) => v) => (n === 0 ? NaN : rows.reduce((sum, r) => sum + f(table[r + column]!), 0) / n);
    const meanLogprob = mean(2);
    return {
      tokens: n,
      selfCertainty: mean(0),
      entropy: mean(1),
      meanLogprob,
      perplexity: Math.exp(-meanLogprob),
      distributionalPerplexity: mean(1, Math.exp),
      gini: mean(3),
      tokenSelfCertainty: rows.map((r) => table[r]!),
    };
  });
}
