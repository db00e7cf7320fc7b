// Server limits: how much one request may ask for and how many may wait for the model. Every limit
// is a positive integer; the prompt limit must leave the model room for at least one new token.

import type { Engine } from './types.ts';

export interface ServeLimits {
  /** most choices (`n`) per request */
  maxN: number;
  /** most candidates (`best_of`) per request; at least maxN */
  maxBestOf: number;
  /** most new tokens (`max_tokens`) per candidate */
  maxTokens: number;
  /** most prompt tokens; at most the model's context length - 1 */
  maxPromptTokens: number;
  /** requests that may wait for the engine; one more gets 429 */
  queueCapacity: number;
  /** most sequences (rows) in one generate() call when requests are combined */
  maxBatchSequences: number;
}

export const DEFAULT_LIMITS: Readonly<Omit<ServeLimits, 'maxPromptTokens'>> = {
  maxN: 16,
  maxBestOf: 32,
  maxTokens: 2048,
  queueCapacity: 32,
  maxBatchSequences: 64,
};

/** Fills in the defaults and checks the limits against each other and the model. */
export function resolveLimits(engine: Pick<Engine, 'contextLength'>, overrides: Partial<ServeLimits> = {}): ServeLimits {
  const contextLength = engine.contextLength;
  if (!(Number.isInteger(contextLength) && contextLength >= 2)) throw new RangeError(`the model's context length must be an integer >= 2, got ${contextLength}`);
  const limits: ServeLimits = { ...DEFAULT_LIMITS, maxPromptTokens: contextLength - 1 };
  for (const [key, value] of Object.entries(overrides) as [keyof ServeLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in limits)) throw new RangeError(`unknown limit ${key}`);
    if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`limit ${key} must be an integer >= 1, got ${value}`);
    limits[key] = value;
  }
  if (limits.maxBestOf < limits.maxN) throw new RangeError(`limit maxBestOf (${limits.maxBestOf}) must be at least maxN (${limits.maxN}): best_of is never below n`);
  if (limits.maxPromptTokens > contextLength - 1) {
    throw new RangeError(`limit maxPromptTokens (${limits.maxPromptTokens}) must leave room for a new token in the model's context of ${contextLength} positions (at most ${contextLength - 1})`);
  }
  return limits;
}
