// `intuitor report RUN`: training curves of a run folder as PNG plots and one self-contained HTML page.
// Beside self-certainty and KL it draws how varied the answers are (src/rl/answer-diversity.ts):
// distinct answers per group, the most common answer's share, answers ending in 0 and the entropy
// of the final digit, repeated n-grams; and a table of each step's most common answers, so that a
// policy whose answers collapse (to round numbers, say) shows from the metrics alone.

import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { readMetrics, type StepMetrics } from '../rl/trainer.ts';
import { lineChartSpec, writeHtmlReport, writePlot, type TableCell, type TopLevelSpec } from '../report/plot.ts';
import { NGRAM } from '../rl/answer-diversity.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const reportFlags = {
  run: { type: 'string', required: true, help: 'a run folder written by intuitor train (metrics.jsonl)' },
  output: { type: 'string', deprecatedAlias: 'out', help: 'where the plots and report.html go (default: the run folder)' },
} as const satisfies FlagSpecs;

export type ReportConfig = FlagValues<typeof reportFlags>;

export function resolveReportConfig(values: Record<string, unknown>): ReportConfig {
  return checkFlagValues(reportFlags, values);
}

/** One chart per quantity the trainer logs, each a line over the steps. */
export function trainingCharts(metrics: readonly StepMetrics[]): { name: string; spec: TopLevelSpec }[] {
  const line = (name: string, title: string, yTitle: string, series: Record<string, (m: StepMetrics) => number | undefined>, yDomain?: [number, number]) => ({
    name,
    spec: lineChartSpec({
      title,
      xTitle: 'step',
      yTitle,
      ...(yDomain ? { yDomain } : {}),
      points: metrics.length <= 60,
      series: Object.entries(series).map(([label, pick]) => ({ name: label, points: metrics.map((m) => ({ x: m.step, y: pick(m) ?? NaN })) })),
    }),
  });
  const rewardNames = Object.keys(metrics[0]?.rewards ?? {});
  return [
    line('rewards', 'Reward per function (mean over responses)', 'reward', Object.fromEntries(rewardNames.map((r) => [r, (m: StepMetrics) => m.rewards[r]?.mean]))),
    line('self-certainty', 'Self-certainty of the responses', 'mean KL(U || p)', { mean: (m) => m.selfCertainty.mean, min: (m) => m.selfCertainty.min, max: (m) => m.selfCertainty.max }),
    line('kl', 'KL to the reference (k3)', 'KL', { kl: (m) => m.kl }),
    line('answers', 'How varied the answers are', 'share of responses', {
      'distinct answers per group': (m) => m.answers?.distinctShare,
      'most common answer': (m) => m.answers?.topShare,
      'with an answer': (m) => m.answers?.answeredShare,
    }, [0, 1]),
    line('digits', 'Final digit of the answers', 'share', {
      'answers ending in 0': (m) => m.answers?.finalZeroShare,
      // NaN is logged as null (JSON): no point, rather than a 0.
      'final-digit entropy / log2(10)': (m) => (typeof m.answers?.finalDigitEntropy === 'number' ? m.answers.finalDigitEntropy / Math.log2(10) : undefined),
    }, [0, 1]),
    line('repetition', 'Repetition in the completions', 'share', { [`repeated ${NGRAM}-grams`]: (m) => m.answers?.repeatedNgramShare }, [0, 1]),
    line('loss', 'Policy loss', 'loss', { loss: (m) => m.loss }),
    line('accuracy', 'Accuracy of the sampled responses (monitoring only)', 'accuracy', { accuracy: (m) => m.accuracy }),
    line('length', 'Response length', 'tokens', { length: (m) => m.completionLength }),
  ];
}

const DIVERSITY_CHARTS = ['answers', 'digits', 'repetition'];

/** Up to `rows` steps, evenly spaced from the first to the last: each step's most common answers. */
export function commonAnswersTable(metrics: readonly StepMetrics[], rows = 12): { columns: string[]; rows: TableCell[][] } {
  const withAnswers = metrics.filter((m) => m.answers);
  const picked = withAnswers.length <= rows ? withAnswers : Array.from({ length: rows }, (_, i) => withAnswers[Math.round((i * (withAnswers.length - 1)) / (rows - 1))]!);
  return {
    columns: ['step', 'distinct answers per group', 'ending in 0', 'most common answers (count)'],
    rows: picked.map((m) => [m.step, m.answers!.distinctShare, m.answers!.finalZeroShare, m.answers!.top.map((t) => `${t.answer} (${t.count})`).join(', ')]),
  };
}

export async function runReport(config: ReportConfig, io: { stderr: Writable }): Promise<string[]> {
  const metrics = readMetrics(config.run);
  if (metrics.length === 0) throw new Error(`${config.run} has no metrics.jsonl entries: is it a run folder of intuitor train?`);
  const out = config.output ?? config.run;
  const logged = (name: string) =>
    name === 'accuracy' ? metrics.some((m) => m.accuracy !== undefined) : !DIVERSITY_CHARTS.includes(name) || metrics.some((m) => m.answers !== undefined);
  const charts = trainingCharts(metrics).filter((c) => logged(c.name));
  const written: string[] = [];
  for (const chart of charts) {
    const path = join(out, `${chart.name}.png`);
    const result = await writePlot(path, chart.spec, { width: 640, height: 320 });
    for (const warning of result.warnings) io.stderr.write(`[plot: ${warning}]\n`);
    written.push(path);
  }
  const last = metrics.at(-1)!;
  const html = join(out, 'report.html');
  await writeHtmlReport(html, {
    title: `Training report: ${config.run}`,
    sections: [
      { heading: 'Last step', table: { columns: ['step', 'reward', 'self-certainty', 'kl', 'loss', 'length'], rows: [[last.step, last.reward, last.selfCertainty.mean, last.kl, last.loss, last.completionLength]] } },
      ...charts.map((c) => ({ heading: c.name, spec: c.spec })),
      ...(metrics.some((m) => m.answers) ? [{ heading: 'Most common answers', text: 'The answers given most often at each step, with how many of the step\'s responses gave them.', table: commonAnswersTable(metrics) }] : []),
    ],
  });
  written.push(html);
  io.stderr.write(`[${written.length} files in ${out}: ${charts.map((c) => `${c.name}.png`).join(', ')}, report.html]\n`);
  return written;
}
