// Batched generation with a KV cache: many sequences (prompts x n) decoded together.
//
// Prompts are left-padded to one length and masked, so every row's new token sits in the same
// column. Each step computes, from the very logits that chose the token, the per-token statistics
// the scores and rewards need (no second pass): the sampled token's log-probability, the entropy,
// and the self-certainty term KL(U || p) = logsumexp(z) - mean(z) - log V. They are taken on the
// raw logits (temperature 1), the distribution the model itself assigns, whatever the sampling
// temperature, and before any repetition penalty: penalties (frequency / presence, OpenAI's)
// only steer which token is chosen, so self-certainty, entropy and the reported log-probabilities
// stay properties of the model, comparable with and without penalties and with scoring a text
// afterwards. On request (topLogprobs: k) each step also returns the k most likely tokens and their
// log-probabilities, from the same logits and logsumexp on the device. A finished row (EOS or stop string) keeps decoding padding until all are done,
// but its outputs stop at its end; the EOS token itself is kept and scored. A caller may stop
// single rows early (isCancelled: the row ends where it is) or the whole call (signal: it rejects).

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { KVCache } from '../model/kv-cache.ts';
import { tokenStatistics } from '../certainty/token-statistics.ts';
import { checkPenalties, checkSamplingOptions, chooseTokens, penalizeLogits, type PenaltyOptions, type SamplingOptions } from './sampling.ts';
import { firstStop, unstableTail } from './stop-strings.ts';

/** What generation needs of a tokenizer: turning ids back into text. */
export interface Detokenizer {
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface GenerateOptions extends SamplingOptions, PenaltyOptions {
  maxNewTokens: number;
  /**
   * per generated token, also return the k most likely tokens under the model's raw distribution
   * (most likely first); 0 or absent: none, at no cost
   */
  topLogprobs?: number;
  /** sequences per prompt (default 1) */
  n?: number;
  /** ids that end a sequence (default: the model config's eos ids) */
  eosTokenIds?: number[];
  /** strings that end a sequence; the text is cut before them (needs `tokenizer`) */
  stop?: string[];
  /** seeds the sampling; the same seed gives the same sequences */
  seed?: number;
  /**
   * one seed per prompt, instead of `seed`: a prompt's n sequences are drawn from its own
   * generator, so they do not depend on the other prompts in the batch (data-parallel training
   * splits a step's prompts over processes and must draw the same samples as one process)
   */
  promptSeeds?: readonly number[];
  tokenizer?: Detokenizer;
  /** called after each step for each sequence that produced a token */
  onToken?: (event: TokenEvent) => void;
  /**
   * stops the whole call: checked before generation starts and before every step; once aborted,
   * generate() frees what it holds and rejects with `signal.reason` (an AbortError DOMException
   * unless the aborter gave another reason). No sequences are returned.
   */
  signal?: AbortSignal;
  /**
   * stops single rows early: asked before every step for each row still generating (`sequence`
   * is the row index, as in onToken). A cancelled row ends there: it gets no more tokens and no
   * more onToken calls, and is returned with what it had, `cancelled: true` and finishReason
   * 'length' (cut short). Rows are independent, so the other rows' sequences are exactly what they
   * would have been; when every row is finished or cancelled, generation ends.
   */
  isCancelled?: (sequence: number) => boolean;
}

/** A token and its log-probability under the model's raw distribution. */
export interface TokenAlternative {
  tokenId: number;
  logprob: number;
}

export interface TokenEvent {
  sequence: number;
  prompt: number;
  tokenId: number;
  textDelta: string | undefined;
  /** log p(token) under the raw distribution */
  logprob: number;
  /** with options.topLogprobs only */
  topLogprobs?: TokenAlternative[];
}

export interface TokenStats {
  /** log p(token) under the raw distribution */
  logprob: number;
  entropy: number;
  /** KL(U || p) = logsumexp - mean - log V */
  selfCertainty: number;
}

export interface GeneratedSequence {
  /** index of the prompt this sequence continues */
  prompt: number;
  tokenIds: number[];
  /** decoded with special tokens skipped (when a tokenizer is given); cut before a stop string */
  text: string | undefined;
  finishReason: 'stop' | 'length';
  /** present (true) only on a row stopped through `isCancelled`; its finishReason is then 'length' */
  cancelled?: true;
  /** per generated token, aligned with tokenIds */
  logprobs: number[];
  entropies: number[];
  selfCertainties: number[];
  /** with options.topLogprobs: per generated token, the k most likely tokens, most likely first */
  topLogprobs?: TokenAlternative[][];
}

interface RowState {
  done: boolean;
  tokens: number[];
  stats: TokenStats[];
  top: TokenAlternative[][];
  text: string;
  /** the part of text already streamed through onToken */
  streamed: string;
  finishReason: 'stop' | 'length';
  cancelled: boolean;
}

/**
 * What to stream next, given what was streamed and the visible text decoded so far. Until the
 * sequence is finished two kinds of tail are held back: U+FFFD (a character whose bytes span
 * several tokens decodes so until its last byte arrives), and the start of a stop string (which may
 * yet be cut off). So the stream's concatenation is the final text. Should decoding rewrite text
 * already streamed (rare: space clean-up), the new text follows from the first difference.
 */
export function streamDelta(streamed: string, text: string, finished: boolean, stops: readonly string[] = []): { delta: string; streamed: string } {
  const ready = finished ? text : text.slice(0, text.length - unstableTail(text, stops));
  let common = 0;
  while (common < streamed.length && common < ready.length && streamed[common] === ready[common]) common++;
  if (common === ready.length && common < streamed.length) return { delta: '', streamed }; // behind what was streamed: wait
  return { delta: ready.slice(common), streamed: ready };
}

/** Samples `n` continuations of each prompt (token ids), all decoded in one batch. */
export async function generate(model: CausalLM, prompts: number[][], options: GenerateOptions): Promise<GeneratedSequence[]> {
  const sampling = checkSamplingOptions(options);
  const penalties = checkPenalties(options);
  const topK = options.topLogprobs ?? 0;
  const n = options.n ?? 1;
  if (!(Number.isInteger(topK) && topK >= 0)) throw new RangeError(`topLogprobs must be an integer >= 0, got ${topK}`);
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1)) throw new RangeError(`maxNewTokens must be an integer >= 1, got ${options.maxNewTokens}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be an integer >= 1, got ${n}`);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  if (options.stop?.length && !options.tokenizer) throw new Error('generate: stop strings need a tokenizer to decode with');
  const vocab = model.config.vocabSize;
  for (const [i, p] of prompts.entries()) {
    const bad = p.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad !== undefined) throw new RangeError(`generate: prompt ${i} has token id ${bad}, outside the vocabulary [0, ${vocab})`);
  }
  options.signal?.throwIfAborted();
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const padId = model.config.padTokenId ?? [...eos][0] ?? 0;
  const rows = prompts.flatMap((p, i) => Array.from({ length: n }, () => ({ prompt: i, ids: p })));
  const batch = rows.length;
  const promptLength = Math.max(...prompts.map((p) => p.length));
  if (options.promptSeeds && options.promptSeeds.length !== prompts.length) throw new Error(`generate: promptSeeds has ${options.promptSeeds.length} seeds for ${prompts.length} prompts`);
  if (options.promptSeeds && options.seed !== undefined) throw new Error('generate: give seed or promptSeeds, not both');
  const generators = options.promptSeeds ? options.promptSeeds.map((s) => new torch.Generator(s)) : new torch.Generator(options.seed ?? Math.floor(Math.random() * 2 ** 31));
  const cache = new KVCache(model.config, { batchSize: batch, maxLength: promptLength + options.maxNewTokens, dtype: model.dtype, device: model.device });
  const states: RowState[] = rows.map(() => ({ done: false, tokens: [], stats: [], top: [], text: '', streamed: '', finishReason: 'length', cancelled: false }));

  // Left padding: [B, P] ids and mask, grown by one column per step.
  const padded = rows.map((r) => [...Array<number>(promptLength - r.ids.length).fill(padId), ...r.ids]);
  let mask = torch.tensor(rows.map((r) => [...Array<number>(promptLength - r.ids.length).fill(0), ...r.ids.map(() => 1)]), { dtype: 'int64', device: model.device }).keep();
  let input = torch.tensor(padded, { dtype: 'int64', device: model.device }).keep();
  // With penalties: how often each row generated each token so far, [B, V] float32.
  let counts: torch.Tensor | undefined;
  try {
    for (let step = 0; step < options.maxNewTokens; step++) {
      options.signal?.throwIfAborted();
      if (options.isCancelled) {
        states.forEach((state, b) => {
          if (!state.done && options.isCancelled!(b)) {
            state.done = true;
            state.cancelled = true;
          }
        });
        if (states.every((s) => s.done)) break;
      }
      const { chosen, stats, top } = torch.noGrad(() =>
        torch.scope(() => {
          // Only the last position's logits are needed: the LM head runs on [B, d], not [B, T, d].
          const last = model.forward(input, { attentionMask: mask, cache, output: 'hidden' }).select(1, -1); // [B, d]
          const logits = torch.linear(last, model.lmHeadWeight).float(); // [B, V]
          if (penalties && !counts) counts = torch.zerosLike(logits).keep();
          const tokens = chooseTokens(penalties ? penalizeLogits(logits, counts!, penalties) : logits, sampling, generators); // [B]
          if (counts) {
            const grown = counts.scatterAdd(1, tokens.unsqueeze(1), torch.ones([batch, 1], { dtype: 'float32', device: model.device })).keep();
            counts.dispose();
            counts = grown;
          }
          // Statistics of the raw logits (see the top of this file), whatever the penalties.
          const { logprob, entropy, selfCertainty, logsumexp } = tokenStatistics(logits, { targets: tokens });
          return {
            chosen: Array.from(tokens.toArray() as BigInt64Array, Number),
            stats: torch.stack([logprob!, entropy!, selfCertainty]).toFloat64Array(),
            top: topK > 0 ? topAlternatives(logits, logsumexp, topK) : undefined,
          };
        }),
      );
      chosen.forEach((tokenId, b) => {
        const state = states[b]!;
        if (state.done) return;
        state.tokens.push(tokenId);
        state.stats.push({ logprob: stats[b]!, entropy: stats[batch + b]!, selfCertainty: stats[2 * batch + b]! });
        const alternatives = top?.[b];
        if (alternatives) state.top.push(alternatives);
        const decoding = options.tokenizer !== undefined && (Boolean(options.stop?.length) || options.onToken !== undefined);
        if (decoding) {
          const text = options.tokenizer!.decode(state.tokens, { skipSpecialTokens: true });
          const stopAt = firstStop(text, options.stop ?? []);
          state.text = stopAt === -1 ? text : text.slice(0, stopAt);
          if (stopAt !== -1) {
            state.done = true;
            state.finishReason = 'stop';
          }
        }
        if (eos.has(tokenId)) {
          state.done = true;
          state.finishReason = 'stop';
        }
        let textDelta: string | undefined;
        if (decoding) {
          ({ delta: textDelta, streamed: state.streamed } = streamDelta(state.streamed, state.text, state.done || step === options.maxNewTokens - 1, options.stop));
        }
        options.onToken?.({ sequence: b, prompt: rows[b]!.prompt, tokenId, textDelta, logprob: stats[b]!, ...(alternatives ? { topLogprobs: alternatives } : {}) });
      });
      if (states.every((s) => s.done) || step === options.maxNewTokens - 1) break;
      // Next input: the chosen tokens (padding for finished rows, which no one reads).
      const next = torch.tensor(chosen.map((id, b) => [states[b]!.done ? padId : id]), { dtype: 'int64', device: model.device }).keep();
      const grown = torch.scope(() => torch.cat([mask, torch.onesLike(next)], 1)).keep();
      input.dispose();
      mask.dispose();
      input = next;
      mask = grown;
      await new Promise(setImmediate); // let the event loop breathe between steps
    }
  } finally {
    input.dispose();
    mask.dispose();
    cache.dispose();
    (counts as torch.Tensor | undefined)?.dispose();
  }
  return states.map((s, b) => ({
    prompt: rows[b]!.prompt,
    tokenIds: s.tokens,
    text: options.tokenizer ? (options.stop?.length || options.onToken ? s.text : options.tokenizer.decode(s.tokens, { skipSpecialTokens: true })) : undefined,
    finishReason: s.finishReason,
    ...(s.cancelled ? { cancelled: true as const } : {}),
    logprobs: s.stats.map((t) => t.logprob),
    entropies: s.stats.map((t) => t.entropy),
    selfCertainties: s.stats.map((t) => t.selfCertainty),
    ...(topK > 0 ? { topLogprobs: s.top } : {}),
  }));
}

/**
 * The k most likely tokens of each row of logits [B, V], with log p = z - logsumexp(z): the
 * logsumexp the statistics already computed, so no [B, V] log-softmax is materialised.
 */
function topAlternatives(logits: torch.Tensor, logsumexp: torch.Tensor, k: number): TokenAlternative[][] {
  const { values, indices } = logits.topk(Math.min(k, logits.size(-1)), { dim: -1 }); // [B, k]
  const logprobs = values.sub(logsumexp.unsqueeze(1)).toFloat64Array();
  const ids = indices.toArray() as BigInt64Array;
  const width = values.size(1);
  return Array.from({ length: logits.size(0) }, (_, b) => Array.from({ length: width }, (_, j) => ({ tokenId: Number(ids[b * width + j]!), logprob: logprobs[b * width + j]! })));
}
