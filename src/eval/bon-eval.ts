// Evaluating best-of-N results (Kang et al. 2025, section 5): accuracy of each selection rule as
// N grows, each point averaged over several random subsets of an item's N responses (N = all
// uses the one full set); the oracle (pass@N: any response correct) as the ceiling; and how well
// self-certainty separates correct from incorrect responses (AUROC, Mann-Whitney U).

import { answersEquivalent, selectBestOfN, SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import { calibration, type Calibration } from './calibration.ts';
import { SeededRandom } from '../data/seeded-random.ts';
import type { BonRecord } from './bon-run.ts';

export interface CurvePoint {
  n: number;
  accuracy: number;
}

export interface BonEvaluation {
  items: number;
  /** responses per item (the smallest over items) */
  n: number;
  subsets: number;
  /** accuracy vs N per rule, plus 'oracle' (pass@N) */
  curves: Record<string, CurvePoint[]>;
  /** self-certainty of every response, correct vs incorrect */
  calibration: Calibration;
}

/** 1, 2, 4, ... up to n, and n itself. */
export function sizesUpTo(n: number): number[] {
  const sizes: number[] = [];
  for (let k = 1; k < n; k *= 2) sizes.push(k);
  sizes.push(n);
  return sizes;
}

function subset(total: number, size: number, next: () => number): number[] {
  const indices = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(next() * (total - i));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return indices.slice(0, size).sort((a, b) => a - b);
}

export function evaluateBestOfN(records: readonly BonRecord[], options: { methods?: readonly SelectionMethod[]; subsets?: number; seed?: number } = {}): BonEvaluation {
  const labelled = records.filter((r) => r.label !== undefined);
  if (labelled.length === 0) throw new Error('no results carry a label: evaluation needs a dataset with reference answers');
  const methods = options.methods ?? SELECTION_METHODS;
  const subsets = options.subsets ?? 8;
  const n = Math.min(...labelled.map((r) => r.responses.length));
  const rng = new SeededRandom(options.seed ?? 0);
  const next = () => rng.next();
  // Each response's correctness, computed once.
  const correct = labelled.map((r) => r.responses.map((x) => x.answer !== undefined && answersEquivalent(x.answer, r.label!)));
  const curves: Record<string, CurvePoint[]> = {};
  for (const method of [...methods, 'oracle'] as const) curves[method] = [];
  for (const size of sizesUpTo(n)) {
    const draws = size === n ? 1 : subsets;
    const hits: Record<string, number> = Object.fromEntries([...methods, 'oracle'].map((m) => [m, 0]));
    labelled.forEach((record, item) => {
      for (let d = 0; d < draws; d++) {
        const chosen = size === n ? Array.from({ length: n }, (_, i) => i) : subset(record.responses.length, size, next);
        const responses = chosen.map((i) => record.responses[i]!);
        if (chosen.some((i) => correct[item]![i])) hits.oracle! += 1;
        for (const method of methods) {
          const selection = selectBestOfN(responses, { method, seed: d });
          if (correct[item]![chosen[selection.index]!]) hits[method]! += 1;
        }
      }
    });
    for (const method of [...methods, 'oracle']) curves[method]!.push({ n: size, accuracy: hits[method]! / (labelled.length * draws) });
  }
  const scores = labelled.flatMap((r) => r.responses.map((x) => x.selfCertainty));
  return { items: labelled.length, n, subsets, curves, calibration: calibration(scores, correct.flat()) };
}
