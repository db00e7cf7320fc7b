// `intuitor eval`: accuracy of every selection rule vs N, and self-certainty's calibration, from
// a results file written by `intuitor bon`; writes JSON and a PNG plot.

import { writeFileSync, renameSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { readResults } from '../eval/results-file.ts';
import { evaluateBestOfN, type BonEvaluation } from '../eval/bon-eval.ts';
import type { BonRecord } from '../eval/bon-run.ts';
import { SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import { lineChartSpec, writePlot } from '../report/plot.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const evalFlags = {
  results: { type: 'string', required: true, help: 'results file written by intuitor bon' },
  rules: { type: 'string', default: SELECTION_METHODS.join(','), help: 'comma-separated selection rules to compare' },
  subsets: { type: 'int', default: 8, min: 1, help: 'random subsets of the N responses averaged per point' },
  seed: { type: 'int', default: 0, min: 0, help: 'seed of the subset draws' },
  out: { type: 'string', help: 'evaluation JSON (default: <results>.eval.json)' },
  plot: { type: 'string', help: 'accuracy-vs-N PNG (default: <results>.eval.png)' },
} as const satisfies FlagSpecs;

export type EvalConfig = FlagValues<typeof evalFlags> & { out: string; plot: string; methods: SelectionMethod[] };

export function resolveEvalConfig(values: Record<string, unknown>): EvalConfig {
  const config = checkFlagValues(evalFlags, values);
  const methods = config.rules.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = methods.filter((m) => !SELECTION_METHODS.includes(m as SelectionMethod));
  if (unknown.length > 0 || methods.length === 0) throw new Error(`--rules: unknown rule ${unknown.join(', ') || '(none given)'}; choose from ${SELECTION_METHODS.join(', ')}`);
  const base = config.results.replace(/\.jsonl$/i, '');
  return { ...config, methods: methods as SelectionMethod[], out: config.out ?? `${base}.eval.json`, plot: config.plot ?? `${base}.eval.png` };
}

export function formatEvaluation(evaluation: BonEvaluation): string {
  const sizes = evaluation.curves.oracle!.map((p) => p.n);
  const header = ['rule'.padEnd(16), ...sizes.map((n) => `N=${n}`.padStart(7))].join('');
  const rows = Object.entries(evaluation.curves).map(([rule, points]) => [rule.padEnd(16), ...points.map((p) => `${(100 * p.accuracy).toFixed(1)}%`.padStart(7))].join(''));
  const c = evaluation.calibration;
  return [
    `${evaluation.items} labelled items, ${evaluation.n} responses each, ${evaluation.subsets} subsets per point`,
    header,
    ...rows,
    `self-certainty calibration: AUROC ${c.auroc.toFixed(3)}, Mann-Whitney U ${c.mannWhitneyU.toFixed(1)}, effect size ${c.effectSize.toFixed(3)} (${c.correct} correct, ${c.incorrect} incorrect responses)`,
  ].join('\n');
}

export async function runEval(config: EvalConfig, io: { stdout: Writable; stderr: Writable }): Promise<BonEvaluation> {
  const records = readResults<BonRecord>(config.results);
  if (records.length === 0) throw new Error(`${config.results} holds no results`);
  const evaluation = evaluateBestOfN(records, { methods: config.methods, subsets: config.subsets, seed: config.seed });
  io.stdout.write(`${formatEvaluation(evaluation)}\n`);
  const temporary = `${config.out}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(evaluation, null, 2)}\n`);
  renameSync(temporary, config.out);
  const spec = lineChartSpec({
    title: `Best-of-N accuracy (${evaluation.items} items)`,
    xTitle: 'N (responses per question)',
    yTitle: 'accuracy',
    xScale: 'log2',
    yDomain: [0, 1],
    series: Object.entries(evaluation.curves).map(([rule, points]) => ({ name: rule, points: points.map((p) => ({ x: p.n, y: p.accuracy })) })),
  });
  const plot = await writePlot(config.plot, spec);
  for (const warning of plot.warnings) io.stderr.write(`[plot: ${warning}]\n`);
  io.stderr.write(`[evaluation in ${config.out}, plot in ${config.plot}]\n`);
  return evaluation;
}
