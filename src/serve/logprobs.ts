// Log-probabilities in OpenAI's two shapes, from the numbers the engine returns.
//
//   chat:   { content: [{ token, logprob, bytes, top_logprobs: [{ token, logprob, bytes }] }], refusal: null }
//   legacy: { tokens, token_logprobs, top_logprobs: [{ token: logprob }], text_offset }
//
// Every number is the model's raw distribution (temperature 1, before top-p and before the
// repetition penalties), as OpenAI reports it: what the model thinks of a token, not how likely the
// sampler was to pick it. `token` is the token's own text (special tokens written out) and `bytes`
// its UTF-8 bytes; a token that holds part of a character decodes alone to U+FFFD. A legacy
// top_logprobs entry holds the alternatives and the chosen token, so up to logprobs + 1 keys (two
// tokens with the same text share one key). text_offset counts Unicode code points (as Python,
// hence OpenAI's clients, index strings) from the start of the choice's text.
// A prompt's first token has no log-probability (nothing predicts it): null, as OpenAI gives it.

import type { Engine, EngineSequence, PromptScores, TokenAlternative } from './types.ts';

/** One token to report: its log-probability (null: a prompt's first token) and the alternatives there. */
export interface ScoredToken {
  tokenId: number;
  logprob: number | null;
  /** most likely first; null where logprob is null */
  top: TokenAlternative[] | null;
}

/** What a log-probability of -infinity is sent as (JSON has no infinity; OpenAI sends this value). */
const LOGPROB_FLOOR = -9999;

function finite(logprob: number): number {
  return Number.isFinite(logprob) ? logprob : LOGPROB_FLOOR;
}

/** The generated tokens of a sequence with their scores. */
export function sequenceTokens(sequence: EngineSequence): ScoredToken[] {
  return sequence.tokenIds.map((tokenId, i) => ({ tokenId, logprob: sequence.logprobs[i]!, top: sequence.topLogprobs?.[i] ?? [] }));
}

/** A prompt's tokens with their scores (the first one unscored). */
export function promptTokens(ids: readonly number[], scores: PromptScores): ScoredToken[] {
  return ids.map((tokenId, i) => (i === 0 ? { tokenId, logprob: null, top: null } : { tokenId, logprob: scores.logprobs[i - 1]!, top: scores.topLogprobs?.[i - 1] ?? [] }));
}

/** Texts of every token and alternative named in `tokens`, looked up once. */
function textsOf(engine: Pick<Engine, 'tokenTexts'>, tokens: readonly ScoredToken[]): Map<number, string> {
  const ids = [...new Set(tokens.flatMap((t) => [t.tokenId, ...(t.top ?? []).map((a) => a.tokenId)]))];
  const texts = engine.tokenTexts(ids);
  return new Map(ids.map((id, i) => [id, texts[i]!]));
}

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** The chat shape. A chat reports generated tokens only, so every logprob is a number. */
export function chatLogprobs(engine: Pick<Engine, 'tokenTexts'>, tokens: readonly ScoredToken[]): { content: ChatTokenLogprob[]; refusal: null } {
  const texts = textsOf(engine, tokens);
  const entry = (tokenId: number, logprob: number) => {
    const token = texts.get(tokenId)!;
    return { token, logprob: finite(logprob), bytes: [...Buffer.from(token, 'utf8')] };
  };
  return {
    content: tokens.map((t) => ({ ...entry(t.tokenId, t.logprob ?? LOGPROB_FLOOR), top_logprobs: (t.top ?? []).map((a) => entry(a.tokenId, a.logprob)) })),
    refusal: null,
  };
}

export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** The legacy shape; offsets[i] is token i's code-point offset in the choice's text. */
export function legacyLogprobs(engine: Pick<Engine, 'tokenTexts'>, tokens: readonly ScoredToken[], offsets: readonly number[]): LegacyLogprobs {
  const texts = textsOf(engine, tokens);
  return {
    tokens: tokens.map((t) => texts.get(t.tokenId)!),
    token_logprobs: tokens.map((t) => (t.logprob === null ? null : finite(t.logprob))),
    top_logprobs: tokens.map((t) => {
      if (t.logprob === null) return null;
      const top: Record<string, number> = {};
      for (const a of t.top ?? []) setOnce(top, texts.get(a.tokenId)!, finite(a.logprob));
      setOnce(top, texts.get(t.tokenId)!, finite(t.logprob));
      return top;
    }),
    text_offset: [...offsets],
  };
}

/** Sets an own property unless there is one: a token spelled "__proto__" is a key like any other. */
function setOnce(object: Record<string, number>, key: string, value: number): void {
  if (!Object.hasOwn(object, key)) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Code points of a string (Python's len). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Each token's offset in a text decoded from `ids`: the code points of the text before it (the
 * decoded prefix), plus `base`, at most `base + limit` (a text cut before a stop string ends before
 * its last tokens). Decodes every prefix: quadratic in the tokens, and only done for logprobs.
 */
export function tokenOffsets(decode: (ids: number[]) => string, ids: readonly number[], base: number, limit: number): number[] {
  return ids.map((_, i) => base + Math.min(limit, i === 0 ? 0 : codePoints(decode(ids.slice(0, i)))));
}
