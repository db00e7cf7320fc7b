// Best-of-N selection rules (Kang et al. 2025, "Scalable Best-of-N Selection for Large Language
// Models via Self-Certainty"). Each of N responses comes with its extracted answer (if any) and its
// mean per-token scores: self-certainty (mean KL(U || p), higher = more confident), mean log-prob of
// the sampled tokens, and mean entropy.
//
//   self-certainty  the response with the highest self-certainty (open-ended tasks, code);
//   borda           responses ranked by self-certainty (rank 1 = most certain; equal scores keep
//                   index order); the response at rank r gives (N - r + 1)^p votes to its answer
//                   and the answer with most votes wins. p = 0 is majority-sc; as p grows the
//                   vote of the most certain answered response dominates, which is then the choice
//                   of `self-certainty`. Default p (the paper's heuristic): 0.3 for N <= 16, 1.2 for
//                   N >= 32, linearly interpolated in N in between (16 < N < 32);
//   weighted        the answer with the largest sum of self-certainty;
//   majority        the most frequent answer; answers tied for the most votes are drawn uniformly
//                   (seeded, default seed 0), so the tie-break favours no answer: over seeds, an
//                   answer among k tied wins 1/k of the time (what evaluation credits exactly);
//   majority-sc     the most frequent answer, ties to the answer of higher total self-certainty
//                   (Borda with p = 0 is this rule);
//   random          a uniformly drawn response (seeded, default seed 0: reproducible);
//   perplexity      the highest mean log-prob of the sampled tokens (lowest perplexity);
//   entropy         the lowest mean token entropy.
//
// Answers are grouped by mathematical equivalence (equivalence.ts). While any response has an
// answer, responses without one are never chosen, by any rule (they keep their Borda rank but
// their votes go nowhere). When none has an answer, each response is its own group, so every
// voting rule (majority too: there is no answer to draw between) falls back to the most
// self-certain response.
// Ties (except majority's, above): between answer groups, more votes, then the higher total
// self-certainty of the group, then the group whose first member comes first; within the winning
// group, the member with the highest self-certainty, then the lowest index. For self-certainty / perplexity / entropy, equal scores go
// to the higher self-certainty (for the latter two), then the lowest index. A NaN score (an empty
// response has no tokens to average) ranks below every number and adds nothing to weighted votes.

import { groupAnswers } from './equivalence.ts';

export type SelectionMethod = 'self-certainty' | 'borda' | 'weighted' | 'majority' | 'majority-sc' | 'random' | 'perplexity' | 'entropy';

export const SELECTION_METHODS: readonly SelectionMethod[] = ['self-certainty', 'borda', 'weighted', 'majority', 'majority-sc', 'random', 'perplexity', 'entropy'];

export interface ScoredResponse {
  /** the extracted final answer; undefined when the response has none */
  answer?: string | undefined;
  /** mean KL(U || p_i) over the response's tokens (higher = more confident) */
  selfCertainty: number;
  /** mean log-probability of the sampled tokens */
  meanLogprob: number;
  /** mean entropy of the next-token distributions */
  meanEntropy: number;
}

export interface SelectionRule {
  method: SelectionMethod;
  /** Borda power (default defaultBordaPower(N)); used by 'borda' only */
  p?: number;
  /** seed of 'random' and of 'majority''s tie-break (default 0) */
  seed?: number;
}

export interface AnswerVotes {
  /** the group's answer as its first member wrote it (undefined for a response with no answer) */
  answer: string | undefined;
  /** indices of the responses in the group, ascending */
  members: number[];
  /** the group's votes under the rule; for non-voting rules, its member count */
  votes: number;
}

export interface Selection {
  /** index of the chosen response */
  index: number;
  /** its answer (undefined when it has none) */
  answer: string | undefined;
  method: SelectionMethod;
  /** the Borda power used ('borda' only) */
  p: number | undefined;
  /** every group, winner's group first for voting rules, then by votes and the tie-break order */
  votes: AnswerVotes[];
  /** responses without an answer while others have one (never chosen) */
  unanswered: number[];
}

/** The paper's Borda power for N responses: 0.3 up to 16, 1.2 from 32, linear in between. */
export function defaultBordaPower(n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`defaultBordaPower: n must be a positive integer, got ${n}`);
  if (n <= 16) return 0.3;
  if (n >= 32) return 1.2;
  return 0.3 + (0.9 * (n - 16)) / 16;
}

/** Chooses one of `responses` by `rule` (see the module header). */
export function selectBestOfN(responses: readonly ScoredResponse[], rule: SelectionRule): Selection {
  validate(responses, rule);
  const n = responses.length;
  const method = rule.method;
  const classes = groupAnswers(responses.map((r) => r.answer));
  const anyAnswer = classes.some((c) => c >= 0);
  // Without any answer every response is its own group.
  const group = anyAnswer ? classes : classes.map((_, i) => i);
  const candidates = group.flatMap((g, i) => (g >= 0 ? [i] : []));
  const unanswered = anyAnswer ? classes.flatMap((c, i) => (c < 0 ? [i] : [])) : [];
  const certainty = responses.map((r) => orLowest(r.selfCertainty));

  const p = method === 'borda' ? rule.p ?? defaultBordaPower(n) : undefined;
  let weights: number[];
  let reported: number[];
  if (method === 'borda') {
    const order = responses.map((_, i) => i).sort((a, b) => certainty[b]! - certainty[a]! || a - b);
    const rank = new Array<number>(n);
    order.forEach((i, position) => (rank[i] = position + 1));
    // Votes are compared relative to the best answered response's vote, so that a huge p neither
    // overflows nor underflows the winner.
    const best = Math.min(...candidates.map((i) => rank[i]!));
    weights = rank.map((r) => (r === best ? 1 : Math.exp(p! * (Math.log(n - r + 1) - Math.log(n - best + 1)))));
    reported = rank.map((r) => Math.pow(n - r + 1, p!));
  } else if (method === 'weighted') {
    weights = responses.map((r) => (Number.isNaN(r.selfCertainty) ? 0 : r.selfCertainty));
    reported = weights;
  } else {
    weights = responses.map(() => 1);
    reported = weights;
  }

  const tallies = new Map<number, { members: number[]; score: number; votes: number; certainty: number }>();
  for (const i of candidates) {
    const t = tallies.get(group[i]!) ?? { members: [], score: 0, votes: 0, certainty: 0 };
    t.members.push(i);
    t.score += weights[i]!;
    t.votes += reported[i]!;
    t.certainty += Number.isNaN(responses[i]!.selfCertainty) ? 0 : responses[i]!.selfCertainty;
    tallies.set(group[i]!, t);
  }
  const ranked = [...tallies.values()].sort(
    (a, b) => (nearlyEqual(a.score, b.score) ? 0 : b.score - a.score) || b.certainty - a.certainty || a.members[0]! - b.members[0]!,
  );
  if (method === 'majority' && anyAnswer) {
    // The groups tied for most votes, in order of first appearance (so that which one the seed
    // draws does not depend on certainty); the drawn one goes first.
    const tied = ranked.filter((t) => t.score === ranked[0]!.score).sort((a, b) => a.members[0]! - b.members[0]!);
    const winner = tied[Math.floor(uniform(rule.seed ?? 0) * tied.length)]!;
    ranked.splice(ranked.indexOf(winner), 1);
    ranked.unshift(winner);
  }

  let index: number;
  switch (method) {
    case 'borda':
    case 'weighted':
    case 'majority':
    case 'majority-sc':
      index = argBest(ranked[0]!.members, (i) => [certainty[i]!]);
      break;
    case 'self-certainty':
      index = argBest(candidates, (i) => [certainty[i]!]);
      break;
    case 'perplexity':
      index = argBest(candidates, (i) => [orLowest(responses[i]!.meanLogprob), certainty[i]!]);
      break;
    case 'entropy':
      index = argBest(candidates, (i) => [-orHighest(responses[i]!.meanEntropy), certainty[i]!]);
      break;
    case 'random':
      index = candidates[Math.floor(uniform(rule.seed ?? 0) * candidates.length)]!;
      break;
  }
  const votes = ranked.map((t) => ({ answer: anyAnswer ? responses[t.members[0]!]!.answer : undefined, members: t.members, votes: t.votes }));
  return { index, answer: responses[index]!.answer, method, p, votes, unanswered };
}

function validate(responses: readonly ScoredResponse[], rule: SelectionRule): void {
  if (!Array.isArray(responses)) throw new TypeError('selectBestOfN: responses must be an array');
  if (responses.length === 0) throw new RangeError('selectBestOfN: responses is empty; best-of-N needs at least one response');
  if (rule === null || typeof rule !== 'object') throw new TypeError('selectBestOfN: rule must be an object such as { method: "borda" }');
  if (!SELECTION_METHODS.includes(rule.method)) {
    throw new RangeError(`selectBestOfN: unknown method ${JSON.stringify(rule.method)}; expected one of ${SELECTION_METHODS.join(', ')}`);
  }
  if (rule.p !== undefined && !(typeof rule.p === 'number' && Number.isFinite(rule.p) && rule.p >= 0)) {
    throw new RangeError(`selectBestOfN: p must be a finite number >= 0, got ${rule.p}`);
  }
  if (rule.seed !== undefined && !Number.isSafeInteger(rule.seed)) throw new RangeError(`selectBestOfN: seed must be an integer, got ${rule.seed}`);
  const fields: (keyof ScoredResponse)[] = ['selfCertainty'];
  if (rule.method === 'perplexity') fields.push('meanLogprob');
  if (rule.method === 'entropy') fields.push('meanEntropy');
  responses.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new TypeError(`selectBestOfN: responses[${i}] must be an object`);
    for (const field of fields) {
      if (typeof r[field] !== 'number') throw new TypeError(`selectBestOfN: responses[${i}].${field} must be a number, got ${typeof r[field]}`);
    }
    if (r.answer !== undefined && typeof r.answer !== 'string') throw new TypeError(`selectBestOfN: responses[${i}].answer must be a string or undefined`);
  });
}

/** NaN -> -Infinity (ranks last where higher is better). */
function orLowest(x: number): number {
  return Number.isNaN(x) ? -Infinity : x;
}

/** NaN -> +Infinity (ranks last where lower is better). */
function orHighest(x: number): number {
  return Number.isNaN(x) ? Infinity : x;
}

function nearlyEqual(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** The index with the lexicographically largest key; the lowest index among equals. */
function argBest(indices: readonly number[], key: (i: number) => number[]): number {
  let best = indices[0]!;
  let bestKey = key(best);
  for (const i of indices.slice(1)) {
    const k = key(i);
    const j = k.findIndex((v, d) => v !== bestKey[d]);
    if (j !== -1 && k[j]! > bestKey[j]!) {
      best = i;
      bestKey = k;
    }
  }
  return best;
}

/** One uniform draw in [0, 1) from an integer seed (splitmix32). */
function uniform(seed: number): number {
  const high = Math.floor(seed / 4294967296) | 0;
  let z = ((seed >>> 0) ^ Math.imul(high, 0x27d4eb2d)) + 0x9e3779b9 | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return (z >>> 0) / 4294967296;
}
