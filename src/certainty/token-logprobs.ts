// Per-token log-probabilities of given token sequences under the model, for reporting (the
// server's `echo` with `logprobs`): what the model assigned to each token of a text it did not
// generate, and optionally the k tokens it found most likely there.
//
// The same scoring path as response-scores.ts: (prompt, completion) pairs packed left-padded
// (model/pack.ts), one forward pass to final hidden states, the fused statistics kernel through the
// LM head. Alignment as there: token o_i is scored with the logits at position promptLength + i - 1.
// Unlike scoreResponses nothing is cut at an EOS (a text may contain one) and nothing is averaged.
// Always the raw distribution (temperature 1). Top-k alternatives come from the logits of row
// chunks (memory O(chunk x V)) minus the kernel's logsumexp: no [N, V] log-softmax.

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { packPromptCompletions } from '../model/pack.ts';
import { tokenStatistics } from './token-statistics.ts';
import type { ScoredPair } from './response-scores.ts';

export interface TokenAlternativeScore {
  tokenId: number;
  logprob: number;
}

export interface TokenLogprobs {
  /** per response token: log p(o_i | prompt, o_<i) */
  logprobs: number[];
  /** with options.topLogprobs > 0: per response token, the k most likely tokens, most likely first */
  topLogprobs: TokenAlternativeScore[][] | undefined;
}

export interface TokenLogprobOptions {
  /** alternatives per position (default 0: none) */
  topLogprobs?: number;
  /** pairs per forward pass (default 8) */
  batchSize?: number;
}

/** Hidden-state rows per top-k chunk: bounds the logits materialised at once to this many x V. */
const TOP_CHUNK_ROWS = 64;

/** The log-probability of every response token of each pair, without gradients. */
export function scoreTokenLogprobs(model: CausalLM, pairs: readonly ScoredPair[], options: TokenLogprobOptions = {}): TokenLogprobs[] {
  const batchSize = options.batchSize ?? 8;
  const k = options.topLogprobs ?? 0;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`topLogprobs must be an integer >= 0, got ${k}`);
  const out: TokenLogprobs[] = [];
  for (let start = 0; start < pairs.length; start += batchSize) out.push(...scoreBatch(model, pairs.slice(start, start + batchSize), k));
  return out;
}

function scoreBatch(model: CausalLM, pairs: readonly ScoredPair[], k: number): TokenLogprobs[] {
  const packed = packPromptCompletions(pairs.map((p) => ({ prompt: p.prompt, completion: p.response })), model.config.padTokenId ?? 0);
  const { length, completionWidth: width } = packed;
  const { logprobs, top } = torch.noGrad(() =>
    torch.scope(() => {
      const input = torch.tensor(packed.inputIds, { dtype: 'int64', device: model.device });
      const hidden = model.forward(input, { attentionMask: torch.tensor(packed.attentionMask, { dtype: 'int64', device: model.device }), output: 'hidden' }); // [B, L, d]
      const predicting = hidden.narrow(1, length - width - 1, width).reshape(-1, hidden.size(-1)); // [B * R, d]
      const targets = input.narrow(1, length - width, width).reshape(-1); // [B * R]
      const stats = tokenStatistics(predicting, { lmHead: model.lmHeadWeight, targets });
      return { logprobs: stats.logprob!.toFloat64Array(), top: k > 0 ? topAlternatives(predicting, model.lmHeadWeight, stats.logsumexp, k) : undefined };
    }),
  );
  return pairs.map((pair, b) => {
    const n = pair.response.length;
    const rows = Array.from({ length: n }, (_, i) => b * width + (width - n + i)); // right-aligned
    return { logprobs: rows.map((r) => logprobs[r]!), topLogprobs: top ? rows.map((r) => top[r]!) : undefined };
  });
}

/** hidden [N, d] -> per row the k most likely tokens, log p = z - logsumexp, in chunks of rows. */
function topAlternatives(hidden: torch.Tensor, lmHead: torch.Tensor, logsumexp: torch.Tensor, k: number): TokenAlternativeScore[][] {
  const rows: TokenAlternativeScore[][] = [];
  const count = hidden.size(0);
  const width = Math.min(k, lmHead.size(0));
  for (let start = 0; start < count; start += TOP_CHUNK_ROWS) {
    const size = Math.min(TOP_CHUNK_ROWS, count - start);
    torch.scope(() => {
      const logits = torch.linear(hidden.narrow(0, start, size), lmHead).float(); // [c, V]
      const { values, indices } = logits.topk(width, { dim: -1 }); // [c, k]
      const logprobs = values.sub(logsumexp.narrow(0, start, size).unsqueeze(1)).toFloat64Array();
      const ids = indices.toArray() as BigInt64Array;
      for (let r = 0; r < size; r++) rows.push(Array.from({ length: width }, (_, j) => ({ tokenId: Number(ids[r * width + j]!), logprob: logprobs[r * width + j]! })));
    });
  }
  return rows;
}
