// `intuitor report RUN`: training curves of a run folder as PNG plots and one self-contained HTML page.

import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { readMetrics, type StepMetrics } from '../rl/trainer.ts';
import { lineChartSpec, writeHtmlReport, writePlot, type TopLevelSpec } from '../report/plot.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const reportFlags = {
  run: { type: 'string', required: true, help: 'a run folder written by intuitor train (metrics.jsonl)' },
  out: { type: 'string', help: 'where the plots and report.html go (default: the run folder)' },
} as const satisfies FlagSpecs;

export type ReportConfig = FlagValues<typeof reportFlags>;

export function resolveReportConfig(values: Record<string, unknown>): ReportConfig {
  return checkFlagValues(reportFlags, values);
}

/** One chart per quantity the trainer logs, each a line over the steps. */
export function trainingCharts(metrics: readonly StepMetrics[]): { name: string; spec: TopLevelSpec }[] {
  const line = (name: string, title: string, yTitle: string, series: Record<string, (m: StepMetrics) => number | undefined>) => ({
    name,
    spec: lineChartSpec({
      title,
      xTitle: 'step',
      yTitle,
      points: metrics.length <= 60,
      series: Object.entries(series).map(([label, pick]) => ({ name: label, points: metrics.map((m) => ({ x: m.step, y: pick(m) ?? NaN })) })),
    }),
  });
  const rewardNames = Object.keys(metrics[0]?.rewards ?? {});
  return [
    line('rewards', 'Reward per function (mean over responses)', 'reward', Object.fromEntries(rewardNames.map((r) => [r, (m: StepMetrics) => m.rewards[r]?.mean]))),
    line('self-certainty', 'Self-certainty of the responses', 'mean KL(U || p)', { mean: (m) => m.selfCertainty.mean, min: (m) => m.selfCertainty.min, max: (m) => m.selfCertainty.max }),
    line('kl', 'KL to the reference (k3)', 'KL', { kl: (m) => m.kl }),
    line('loss', 'Policy loss', 'loss', { loss: (m) => m.loss }),
    line('accuracy', 'Accuracy of the sampled responses (monitoring only)', 'accuracy', { accuracy: (m) => m.accuracy }),
    line('length', 'Response length', 'tokens', { length: (m) => m.completionLength }),
  ];
}

export async function runReport(config: ReportConfig, io: { stderr: Writable }): Promise<string[]> {
  const metrics = readMetrics(config.run);
  if (metrics.length === 0) throw new Error(`${config.run} has no metrics.jsonl entries: is it a run folder of intuitor train?`);
  const out = config.out ?? config.run;
  const charts = trainingCharts(metrics).filter((c) => c.name !== 'accuracy' || metrics.some((m) => m.accuracy !== undefined));
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
    ],
  });
  written.push(html);
  io.stderr.write(`[${written.length} files in ${out}: ${charts.map((c) => `${c.name}.png`).join(', ')}, report.html]\n`);
  return written;
}
