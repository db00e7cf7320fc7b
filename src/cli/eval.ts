// `intuitor eval`: from a results file written by `intuitor bon`, the accuracy of every selection
// rule vs N, paired differences between rules, and how well self-certainty, mean log-prob and
// negative entropy separate correct from incorrect responses (pooled and within-problem AUROC),
// each with a 95% bootstrap interval over problems (src/eval/bon-eval.ts). Prints tables, writes
// the JSON and PNG plots (accuracy vs N, and the differences from each baseline vs N).

import { writeFileSync, renameSync } from 'node:fs';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';
import { readResults } from '../eval/results-file.ts';
import { defaultPairs, evaluateBestOfN, type BonEvaluation } from '../eval/bon-eval.ts';
import type { BonRecord } from '../eval/bon-run.ts';
import { SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import { writePlot, type TopLevelSpec } from '../report/plot.ts';
import { intervalChartSpec } from '../report/interval-chart.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const evalFlags = {
  results: { type: 'string', required: true, help: 'results file written by intuitor bon' },
  rules: { type: 'string', default: SELECTION_METHODS.join(','), help: 'comma-separated selection rules to compare' },
  pairs: { type: 'string', help: 'paired differences RULE:BASELINE,... (default: every rule against random and against majority)' },
  subsets: { type: 'int', default: 32, min: 1, help: 'random subsets of the N responses per problem and N (all of them when there are fewer)' },
  resamples: { type: 'int', default: 1000, min: 1, help: 'bootstrap resamples of the problems for the 95% intervals' },
  seed: { type: 'int', default: 0, min: 0, help: 'seed of the subset draws and the bootstrap' },
  modelName: { type: 'string', help: 'model name for the titles (default: the model folder the results record)' },
  datasetName: { type: 'string', help: 'dataset name for the titles (default: the dataset the results record)' },
  output: { type: 'string', deprecatedAlias: 'out', help: 'evaluation JSON (default: <results>.eval.json)' },
  plot: { type: 'string', help: 'accuracy-vs-N PNG (default: <results>.eval.png; the differences from each baseline beside it, -minus-BASELINE.png)' },
} as const satisfies FlagSpecs;

export type EvalConfig = FlagValues<typeof evalFlags> & { output: string; plot: string; methods: SelectionMethod[]; rulePairs: [string, string][] };

export function resolveEvalConfig(values: Record<string, unknown>): EvalConfig {
  const config = checkFlagValues(evalFlags, values);
  const methods = config.rules.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = methods.filter((m) => !SELECTION_METHODS.includes(m as SelectionMethod));
  if (unknown.length > 0 || methods.length === 0) throw new Error(`--rules: unknown rule ${unknown.join(', ') || '(none given)'}; choose from ${SELECTION_METHODS.join(', ')}`);
  const rules = [...methods, 'oracle'];
  const rulePairs = config.pairs === undefined ? defaultPairs(methods as SelectionMethod[]) : config.pairs.split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
    const parts = p.split(':');
    if (parts.length !== 2 || !parts.every((r) => rules.includes(r))) throw new Error(`--pairs: '${p}' is not RULE:BASELINE with both among --rules (${rules.join(', ')})`);
    return parts as [string, string];
  });
  const base = config.results.replace(/\.jsonl$/i, '');
  return { ...config, methods: methods as SelectionMethod[], rulePairs, output: config.output ?? `${base}.eval.json`, plot: config.plot ?? `${base}.eval.png` };
}

const percent = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'NaN');
const interval = (low: number, high: number, digits = (x: number) => percent(x)) => `[${digits(low)}, ${digits(high)}]`;

/** "model on dataset", from what is known. */
function subject(evaluation: BonEvaluation): string {
  const model = evaluation.model === undefined ? 'unknown model' : basename(evaluation.model.replace(/\/+$/, ''));
  return evaluation.dataset === undefined ? model : `${model} on ${basename(evaluation.dataset)}`;
}

export function formatEvaluation(evaluation: BonEvaluation): string {
  const sizes = evaluation.curves.oracle!.map((p) => p.n);
  const width = 16;
  const labels = [...Object.keys(evaluation.curves), ...evaluation.differences.map((d) => `${d.rule} - ${d.baseline}`), ...Object.keys(evaluation.auroc)];
  const first = Math.max(18, ...labels.map((l) => l.length + 2));
  const header = (title: string) => [title.padEnd(first), ...sizes.map((n) => `N=${n}`.padStart(width))].join('');
  const rows = Object.entries(evaluation.curves).flatMap(([rule, points]) => [
    [rule.padEnd(first), ...points.map((p) => `${percent(p.accuracy)}%`.padStart(width))].join(''),
    ['  95% CI'.padEnd(first), ...points.map((p) => interval(p.low, p.high).padStart(width))].join(''),
  ]);
  const differences = evaluation.differences.flatMap((d) => [
    [`${d.rule} - ${d.baseline}`.padEnd(first), ...d.points.map((p) => `${p.difference >= 0 ? '+' : ''}${percent(p.difference)}`.padStart(width))].join(''),
    ['  95% CI'.padEnd(first), ...d.points.map((p) => interval(p.low, p.high).padStart(width))].join(''),
  ]);
  const three = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'NaN');
  const aurocs = Object.entries(evaluation.auroc).map(([score, s]) =>
    `${score.padEnd(first)}${`${three(s.pooled.auroc)} ${interval(s.pooled.low, s.pooled.high, three)}`.padEnd(26)}${three(s.within.auroc)} ${interval(s.within.low, s.within.high, three)} over ${s.within.problems} problems`,
  );
  const c = evaluation.calibration;
  return [
    `${evaluation.items} labelled items, ${evaluation.n} responses each (${subject(evaluation)}); intervals: 95% bootstrap over problems, ${evaluation.bootstrap.resamples} resamples`,
    `accuracy (%; random and oracle exact expectations over subsets, other rules averaged over up to ${evaluation.subsets} subsets per problem, majority's ties credited 1/k)`,
    header('rule'),
    ...rows,
    ...(differences.length > 0 ? ['', 'paired differences (percentage points, same subsets and resamples)', header('rule - baseline'), ...differences] : []),
    '',
    `AUROC, correct vs incorrect (${c.correct} correct, ${c.incorrect} incorrect responses)`,
    `${'score'.padEnd(first)}${'pooled'.padEnd(26)}within a problem`,
    ...aurocs,
  ].join('\n');
}

export async function runEval(config: EvalConfig, io: { stdout: Writable; stderr: Writable }): Promise<BonEvaluation> {
  const records = readResults<BonRecord>(config.results);
  if (records.length === 0) throw new Error(`${config.results} holds no results`);
  const evaluation = evaluateBestOfN(records, {
    methods: config.methods,
    pairs: config.rulePairs,
    subsets: config.subsets,
    resamples: config.resamples,
    seed: config.seed,
    ...(config.modelName !== undefined ? { model: config.modelName } : {}),
    ...(config.datasetName !== undefined ? { dataset: config.datasetName } : {}),
  });
  io.stdout.write(`${formatEvaluation(evaluation)}\n`);
  const temporary = `${config.output}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(evaluation, null, 2)}\n`);
  renameSync(temporary, config.output);
  const plots = evaluationCharts(evaluation, config.plot);
  for (const plot of plots) {
    const result = await writePlot(plot.path, plot.spec, { width: 760, height: 440 });
    for (const warning of result.warnings) io.stderr.write(`[plot: ${warning}]\n`);
  }
  io.stderr.write(`[evaluation in ${config.output}, plots in ${plots.map((p) => p.path).join(', ')}]\n`);
  return evaluation;
}

/** The plots of an evaluation: accuracy vs N at `plot`, and the differences from each baseline beside it. */
export function evaluationCharts(evaluation: BonEvaluation, plot: string): { path: string; spec: TopLevelSpec }[] {
  const subtitle = `${evaluation.items} problems, ${evaluation.n} samples each; bands: 95% bootstrap intervals over problems`;
  const accuracy = intervalChartSpec({
    title: `Best-of-N accuracy: ${subject(evaluation)}`,
    subtitle,
    xTitle: 'N (responses per question)',
    yTitle: 'accuracy',
    xScale: 'log2',
    yDomain: [0, 1],
    series: Object.entries(evaluation.curves).map(([rule, points]) => ({ name: rule, points: points.map((p) => ({ x: p.n, y: p.accuracy, low: p.low, high: p.high })) })),
  });
  const plots = [{ path: plot, spec: accuracy }];
  // One plot of differences per baseline: a handful of curves each.
  for (const baseline of [...new Set(evaluation.differences.map((d) => d.baseline))]) {
    const differences = intervalChartSpec({
      title: `Accuracy minus ${baseline}'s, paired: ${subject(evaluation)}`,
      subtitle,
      xTitle: 'N (responses per question)',
      yTitle: `accuracy - accuracy of ${baseline}`,
      xScale: 'log2',
      reference: 0,
      series: evaluation.differences.filter((d) => d.baseline === baseline).map((d) => ({ name: d.rule, points: d.points.map((p) => ({ x: p.n, y: p.difference, low: p.low, high: p.high })) })),
    });
    plots.push({ path: differencesPlotPath(plot, baseline), spec: differences });
  }
  return plots;
}

/** Where the plot of differences from `baseline` goes: beside the accuracy plot. */
export function differencesPlotPath(plot: string, baseline: string): string {
  return `${plot.replace(/\.png$/i, '')}-minus-${baseline}.png`;
}
