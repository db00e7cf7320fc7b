// The whole best-of-N evaluation on hand-made results: intervals around every curve point, paired
// differences that are exactly 0 at N = 1 and exclude 0 where a rule really is better, AUROCs with
// intervals, old results files (no model or dataset, null scores), and `intuitor eval`'s files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPairs, evaluateBestOfN } from '../../src/eval/bon-eval.ts';
import type { BonRecord } from '../../src/eval/bon-run.ts';
import { evaluationCharts, resolveEvalConfig, runEval } from '../../src/cli/eval.ts';
import { SeededRandom } from '../../src/data/seeded-random.ts';

/**
 * 120 problems x 8 responses; a response is right with probability 0.3 and then has the highest
 * self-certainty (1 + noise against noise); wrong ones spread over 6 answers or have none.
 */
function records(count = 120, n = 8): BonRecord[] {
  const random = new SeededRandom(5);
  return Array.from({ length: count }, (_, index) => {
    const label = String(100 + index);
    return {
      index,
      question: `q${index}`,
      label,
      settings: 'x',
      model: 'models/organism/',
      data: 'data/arith-test.jsonl',
      selected: { index: 0, answer: undefined, method: 'borda', p: undefined },
      correct: undefined,
      responses: Array.from({ length: n }, () => {
        const right = random.next() < 0.3;
        const answer = right ? label : random.next() < 0.15 ? undefined : String(Math.floor(random.next() * 6));
        return { text: '', answer, tokens: 3, finishReason: 'stop' as const, selfCertainty: (right ? 1 : 0) + random.next(), meanLogprob: -random.next(), meanEntropy: random.next() };
      }),
    };
  });
}

test('curves, paired differences and AUROCs, each with a 95% interval over problems', () => {
  const evaluation = evaluateBestOfN(records(), { methods: ['self-certainty', 'borda', 'majority', 'random'], resamples: 400 });
  assert.equal(evaluation.model, 'models/organism/');
  assert.equal(evaluation.dataset, 'data/arith-test.jsonl');
  assert.deepEqual([evaluation.items, evaluation.n, evaluation.subsets], [120, 8, 32]);
  assert.deepEqual(evaluation.bootstrap, { resamples: 400, level: 0.95 });
  assert.deepEqual(Object.keys(evaluation.curves), ['self-certainty', 'borda', 'majority', 'random', 'oracle']);
  for (const [rule, points] of Object.entries(evaluation.curves)) {
    assert.deepEqual(points.map((p) => p.n), [1, 2, 4, 8], rule);
    for (const p of points) assert.ok(p.low <= p.accuracy && p.accuracy <= p.high && p.high - p.low < 0.25, `${rule} N=${p.n}: ${JSON.stringify(p)}`);
  }
  // N = 1: every rule takes the one response, all equal to random's exact expectation.
  const one = evaluation.curves.random![0]!.accuracy;
  for (const points of Object.values(evaluation.curves)) assert.ok(Math.abs(points[0]!.accuracy - one) < 1e-12);
  // The most certain response is right whenever one is: self-certainty = the oracle (it never picks an unanswered one).
  const atAll = (rule: string) => evaluation.curves[rule]!.at(-1)!.accuracy;
  assert.ok(atAll('self-certainty') > atAll('random') + 0.2);
  assert.deepEqual(evaluation.differences.map((d) => `${d.rule} - ${d.baseline}`), ['self-certainty - random', 'borda - random', 'majority - random', 'self-certainty - majority', 'borda - majority']);
  const difference = evaluation.differences[0]!;
  assert.deepEqual(difference.points[0], { n: 1, difference: 0, low: 0, high: 0 }, 'paired: identical at N = 1 in every resample');
  assert.ok(difference.points.at(-1)!.low > 0.1, `self-certainty - random at N = 8 excludes 0: ${JSON.stringify(difference.points.at(-1))}`);
  assert.ok(Math.abs(difference.points.at(-1)!.difference - (atAll('self-certainty') - atAll('random'))) < 1e-12);
  // Self-certainty separates by construction; the other scores are noise.
  const auroc = evaluation.auroc;
  assert.deepEqual(Object.keys(auroc), ['self-certainty', 'mean-logprob', 'neg-entropy']);
  assert.deepEqual([auroc['self-certainty'].pooled.auroc, auroc['self-certainty'].within.auroc], [1, 1]);
  // Self-certainty is the oracle here: exactly where all subsets are enumerated (C(8, 1), C(8, 2) <= 32
  // and C(8, 8)), within sampling error over 32 of the C(8, 4) = 70 at N = 4.
  const [sc, oracle] = [evaluation.curves['self-certainty']!, evaluation.curves.oracle!];
  for (const k of [0, 1, 3]) assert.ok(Math.abs(sc[k]!.accuracy - oracle[k]!.accuracy) < 1e-12, `N = ${sc[k]!.n}`);
  assert.ok(Math.abs(sc[2]!.accuracy - oracle[2]!.accuracy) < 0.03);
  assert.ok(auroc['self-certainty'].within.problems > 60 && auroc['self-certainty'].within.problems < 120);
  for (const score of ['mean-logprob', 'neg-entropy'] as const) {
    const { pooled, within } = auroc[score];
    for (const s of [pooled, within]) {
      assert.ok(Math.abs(s.auroc - 0.5) < 0.1 && s.low < s.auroc && s.auroc < s.high && s.high - s.low < 0.2, `${score} ${JSON.stringify(s)}`);
    }
  }
  assert.equal(evaluation.calibration.auroc, auroc['self-certainty'].pooled.auroc, 'the first format\'s field is kept');
  assert.equal(auroc['self-certainty'].pooled.correct + auroc['self-certainty'].pooled.incorrect, 960);
  // Seeded: the same numbers again.
  assert.deepEqual(evaluateBestOfN(records(), { methods: ['self-certainty', 'borda', 'majority', 'random'], resamples: 400 }), evaluation);
});

test('older results files: no model or dataset, scores written as null; names can be given', () => {
  const old = records(6, 4).map((r) => {
    const { model: _model, data: _data, ...rest } = r;
    return JSON.parse(JSON.stringify({ ...rest, responses: rest.responses.map((x, k) => (k === 0 ? { ...x, selfCertainty: NaN, meanLogprob: NaN, meanEntropy: NaN } : x)) }));
  });
  assert.equal(old[0].responses[0].selfCertainty, null);
  const evaluation = evaluateBestOfN(old, { resamples: 50 });
  assert.equal(evaluation.model, undefined);
  assert.equal(evaluation.dataset, undefined);
  assert.ok(Object.values(evaluation.curves).every((points) => points.every((p) => Number.isFinite(p.accuracy))));
  const named = evaluateBestOfN(old, { resamples: 50, model: 'Qwen2.5-1.5B', dataset: 'MATH-500' });
  assert.deepEqual([named.model, named.dataset], ['Qwen2.5-1.5B', 'MATH-500']);
  const broken = JSON.parse(JSON.stringify(old));
  delete broken[2].responses[1].meanEntropy;
  assert.throws(() => evaluateBestOfN(broken), /item 2, response 1: meanEntropy must be a number, found none/);
  assert.throws(() => evaluateBestOfN(old, { pairs: [['borda', 'magic']] }), /pair borda:magic: magic is not among the evaluated rules/);
});

test('defaultPairs: every rule against random, every other rule against majority', () => {
  assert.deepEqual(defaultPairs(['borda', 'majority', 'random']), [['borda', 'random'], ['majority', 'random'], ['borda', 'majority']]);
  assert.deepEqual(defaultPairs(['borda', 'self-certainty']), []);
});

test('intuitor eval writes the JSON, the accuracy plot and one plot of differences per baseline, titled with model and dataset', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-eval-'));
  try {
    const results = join(folder, 'test.bon.jsonl');
    writeFileSync(results, records(20, 4).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const config = resolveEvalConfig({ results, rules: 'borda,majority,random', pairs: 'borda:random,borda:majority', resamples: 100 });
    assert.deepEqual(config.rulePairs, [['borda', 'random'], ['borda', 'majority']]);
    let stdout = '';
    const evaluation = await runEval(config, { stdout: { write: (s: string) => ((stdout += s), true) } as never, stderr: { write: () => true } as never });
    assert.match(stdout, /^20 labelled items, 4 responses each \(organism on arith-test\.jsonl\)/);
    assert.match(stdout, /^borda - random\s+\+0\.0\s/m);
    assert.match(stdout, /^ {2}95% CI\s+\[0\.0, 0\.0\]\s+\[/m);
    const json = JSON.parse(readFileSync(join(folder, 'test.bon.eval.json'), 'utf8'));
    assert.deepEqual(json.curves, evaluation.curves);
    assert.deepEqual(json.differences.map((d: { rule: string; baseline: string }) => [d.rule, d.baseline]), [['borda', 'random'], ['borda', 'majority']]);
    assert.ok(json.auroc['neg-entropy'].within.problems > 0);
    for (const png of ['test.bon.eval.png', 'test.bon.eval-minus-random.png', 'test.bon.eval-minus-majority.png']) {
      assert.ok(existsSync(join(folder, png)), png);
      assert.deepEqual([...readFileSync(join(folder, png)).subarray(1, 4)], [0x50, 0x4e, 0x47], png);
    }
    const charts = evaluationCharts(evaluation, 'x.png') as { path: string; spec: { title: { text: string; subtitle: string } } }[];
    assert.deepEqual(charts.map((c) => c.path), ['x.png', 'x-minus-random.png', 'x-minus-majority.png']);
    assert.equal(charts[0]!.spec.title.text, 'Best-of-N accuracy: organism on arith-test.jsonl');
    assert.match(charts[0]!.spec.title.subtitle, /20 problems, 4 samples each; bands: 95% bootstrap intervals over problems/);
    assert.throws(() => resolveEvalConfig({ results, pairs: 'borda-random' }), /--pairs: 'borda-random' is not RULE:BASELINE/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
