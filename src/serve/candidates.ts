// From the generated candidates to the returned choices. Every candidate is scored by its mean
// self-certainty (mean KL(U || p) over its tokens). Without best_of the choices keep sampling
// order; with best_of they are the n most self-certain candidates, most certain first; with a
// `selection` rule the chosen candidate comes first (answers extracted and grouped by equivalence,
// votes per select/rules.ts), followed by the most self-certain of the others.

import { extractAnswer, selectBestOfN, type Selection } from '../select/index.ts';
import type { GenerationParams } from './params.ts';
import type { EngineSequence } from './types.ts';

export interface Choice {
  /** the candidate's position in sampling order */
  candidate: number;
  sequence: EngineSequence;
  selfCertainty: number;
  /** the extracted answer (with a selection rule only) */
  answer?: string | undefined;
}

export interface SelectionSummary {
  method: string;
  p: number | null;
  /** the chosen answer (null when the chosen response has none) */
  answer: string | null;
  /** candidates voted over */
  candidates: number;
  /** answer groups, winner first: their votes and how many candidates gave them */
  votes: { answer: string | null; votes: number; count: number }[];
}

export interface ChosenOutput {
  choices: Choice[];
  selection: SelectionSummary | undefined;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Candidate indices by self-certainty, highest first; equal (or NaN) scores keep sampling order. */
export function rankBySelfCertainty(scores: readonly number[], indices: readonly number[] = scores.map((_, i) => i)): number[] {
  const key = (i: number) => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
  return [...indices].sort((a, b) => key(b) - key(a) || a - b);
}

export function chooseCandidates(sequences: readonly EngineSequence[], params: Pick<GenerationParams, 'n' | 'ranked' | 'selection' | 'seed'>): ChosenOutput {
  const scores = sequences.map((s) => mean(s.selfCertainties));
  const choice = (candidate: number, answer?: string): Choice => ({
    candidate,
    sequence: sequences[candidate]!,
    selfCertainty: scores[candidate]!,
    ...(params.selection ? { answer } : {}),
  });
  if (!params.selection) {
    const order = params.ranked ? rankBySelfCertainty(scores) : sequences.map((_, i) => i);
    return { choices: order.slice(0, params.n).map((i) => choice(i)), selection: undefined };
  }
  const answers = sequences.map((s) => extractAnswer(s.text));
  const chosen: Selection = selectBestOfN(
    sequences.map((s, i) => ({ answer: answers[i], selfCertainty: scores[i]!, meanLogprob: mean(s.logprobs), meanEntropy: mean(s.entropies) })),
    { method: params.selection.method, ...(params.selection.p !== undefined ? { p: params.selection.p } : {}), seed: params.seed ?? 0 },
  );
  const rest = rankBySelfCertainty(scores, sequences.map((_, i) => i).filter((i) => i !== chosen.index));
  const order = [chosen.index, ...rest].slice(0, params.n);
  return {
    choices: order.map((i) => choice(i, answers[i])),
    selection: {
      method: chosen.method,
      p: chosen.p ?? null,
      answer: chosen.answer ?? null,
      candidates: sequences.length,
      votes: chosen.votes.map((v) => ({ answer: v.answer ?? null, votes: v.votes, count: v.members.length })),
    },
  };
}
