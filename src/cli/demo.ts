// `intuitor demo` (npm run demo): both results of the method, measured on the embedded default
// model (models/arith-mixed) and held-out arith problems it was never trained on, every number with
// a 95% bootstrap interval over problems:
//
//   1. confidence predicts correctness: N samples per problem; AUROC of self-certainty (pooled and
//      within a problem) beside mean log-prob and entropy; best-of-N accuracy by self-certainty,
//      Borda, majority and random at N = 1, 2, 4, ..., with paired differences;
//   2. Intuitor: GRPO whose only reward is the policy's own self-certainty (no label reaches the
//      trainer) changes greedy accuracy on the same problems, beside GRPO rewarded by correctness
//      with the same prompts and budget; the AUROC is measured again after Intuitor;
//   3. the reward hack: the same Intuitor with the certainty scored by the frozen starting model
//      (--offline-certainty) and with a learning rate far too large, and what their answers become.
//
// The model organism (README, "The default model"): a small model fine-tuned to answer either with a
// column-by-column scratchpad (accurate) or with the boxed answer alone (a guess), drawn at random
// per training example. Which way the policy answers is its own choice; nothing tells it which one
// is right.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { loadModel } from '../model/load.ts';
import { arithQaItems } from '../data/arith.ts';
import { heldOutArithItems, parseArithLevels } from './arith-task.ts';
import { checkDtypeDevice, deviceFlags } from '../config/device-flags.ts';
import { DEFAULT_MODEL_DIR, displayPath } from '../package-paths.ts';
import { evaluateQa, type QaEvaluation } from '../eval/qa-accuracy.ts';
import { runBestOfN, type BonSettings } from '../eval/bon-run.ts';
import { evaluateBestOfN, type BonEvaluation } from '../eval/bon-eval.ts';
import { summarizeGreedy, type GreedySummary } from '../eval/greedy-change.ts';
import { formatEvaluation } from './eval.ts';
import { resolveGrpoConfig } from '../rl/config.ts';
import { ARITH_MIXED_FORMAT } from '../rl/prompt.ts';
import { train } from '../rl/trainer.ts';
import { latestCheckpoint } from '../rl/checkpoint.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const DEMO_RUNS = ['intuitor', 'correctness', 'offline', 'high-lr'] as const;
type DemoRun = (typeof DEMO_RUNS)[number];

export const demoFlags = {
  model: { type: 'string', default: DEFAULT_MODEL_DIR, help: 'the starting model (default: the embedded models/arith-mixed)' },
  output: { type: 'string', default: 'runs/demo', help: 'folder for the run folders and best-of-N results (replaced)' },
  runs: { type: 'string', default: 'intuitor,correctness,high-lr', help: `training runs, comma-separated: intuitor (self-certainty reward), correctness (GRPO baseline), offline (--offline-certainty), high-lr (--high-learning-rate); '' for none` },
  steps: { type: 'int', default: 30, min: 1, help: 'training steps of each run' },
  promptsPerStep: { type: 'int', default: 8, min: 1, help: 'prompts per step' },
  numGenerations: { type: 'int', default: 7, min: 2, help: 'responses per prompt' },
  learningRate: { type: 'number', default: 1e-4, min: 0, exclusiveMin: true, help: 'peak learning rate of the intuitor, correctness and offline runs' },
  highLearningRate: { type: 'number', default: 4e-4, min: 0, exclusiveMin: true, help: 'the over-large learning rate of the high-lr run' },
  maxCompletionLength: { type: 'int', default: 128, min: 1, help: 'the most tokens per response' },
  evalProblems: { type: 'int', default: 200, min: 1, help: 'held-out test problems' },
  samples: { type: 'int', default: 16, min: 0, help: 'responses per problem for best-of-N and the AUROC (0: skip)' },
  samplesAfter: { type: 'int', default: 8, min: 0, help: 'responses per problem for the AUROC after Intuitor (0: skip)' },
  temperature: { type: 'number', default: 0.9, min: 0, exclusiveMin: true, help: 'sampling temperature of best-of-N and of training' },
  levels: { type: 'string', default: '1', help: 'arith levels of the training and test problems' },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds data order and sampling' },
  ...deviceFlags,
} as const satisfies FlagSpecs;

export type DemoConfig = FlagValues<typeof demoFlags>;

export function resolveDemoConfig(values: Record<string, unknown>): DemoConfig {
  const config = checkFlagValues(demoFlags, values);
  parseArithLevels(config.levels);
  checkDtypeDevice(config.dtype, config.device);
  const unknown = demoRuns(config).filter((r) => !DEMO_RUNS.includes(r));
  if (unknown.length > 0) throw new Error(`--runs: unknown run ${unknown.join(', ')}; choose from ${DEMO_RUNS.join(', ')}`);
  return config;
}

function demoRuns(config: DemoConfig): DemoRun[] {
  return config.runs.split(',').map((r) => r.trim()).filter((r) => r !== '') as DemoRun[];
}

export interface DemoTrainingRun {
  run: DemoRun;
  greedy: GreedySummary;
  meanSelfCertainty: number;
}

export interface DemoResult {
  before: { greedy: GreedySummary; meanSelfCertainty: number; bestOfN?: BonEvaluation };
  runs: DemoTrainingRun[];
  /** best-of-N on the Intuitor-trained model (when the intuitor run and samples are asked for) */
  afterIntuitor?: BonEvaluation;
  seconds: number;
}

const RUN_TITLES: Record<DemoRun, (c: DemoConfig) => string> = {
  intuitor: (c) => `Intuitor, lr ${c.learningRate}`,
  correctness: (c) => `GRPO correctness, lr ${c.learningRate}`,
  offline: (c) => `offline certainty, lr ${c.learningRate}`,
  'high-lr': (c) => `Intuitor, lr ${c.highLearningRate}`,
};

export async function runDemo(config: DemoConfig, io: { stdout: Writable; stderr: Writable }): Promise<DemoResult> {
  const started = performance.now();
  const levels = parseArithLevels(config.levels);
  const format = ARITH_MIXED_FORMAT; // the prompts the embedded model was fine-tuned on
  const tokenizer = await Tokenizer.fromDir(config.model);
  const testItems = heldOutArithItems(config.evalProblems, levels);
  rmSync(config.output, { recursive: true, force: true });
  mkdirSync(config.output, { recursive: true });
  const out = (text: string) => io.stdout.write(text);
  const placement = { dtype: config.dtype, device: config.device };

  const greedy = async (dir: string, label: string, name: string): Promise<QaEvaluation> => {
    io.stderr.write(`[greedy answers of ${label} on ${testItems.length} held-out problems]\n`);
    const model = loadModel(dir, placement);
    try {
      const evaluation = await evaluateQa(model, tokenizer, testItems, format, { maxNewTokens: config.maxCompletionLength, batchSize: 200 });
      const lines = testItems.map((item, i) => JSON.stringify({ question: item.question, label: item.label, response: evaluation.responses[i]!.text, answer: evaluation.responses[i]!.answer ?? null, correct: evaluation.correct[i] }));
      writeFileSync(join(config.output, `greedy-${name}.jsonl`), `${lines.join('\n')}\n`);
      return evaluation;
    } finally {
      model.dispose();
    }
  };
  const bestOfN = async (dir: string, name: string, samples: number): Promise<BonEvaluation> => {
    const settings: BonSettings = {
      n: samples, maxNewTokens: config.maxCompletionLength, seed: config.seed, temperature: config.temperature, topP: 1, topK: 0, minP: 0,
      chat: format.chat, systemPrompt: format.system || undefined, instruction: format.instruction,
    };
    io.stderr.write(`[${samples} samples at temperature ${config.temperature} per held-out problem from ${dir}]\n`);
    const model = loadModel(dir, placement);
    try {
      const records = await runBestOfN({
        model, modelDir: dir, tokenizer, items: testItems, settings, rule: { method: 'self-certainty' }, resultsPath: join(config.output, `${name}.bon.jsonl`),
        dataName: `arith test, levels ${config.levels}`, itemsPerCall: Math.max(1, Math.floor(400 / samples)), progress: io.stderr as never,
      });
      return evaluateBestOfN(records, { methods: ['self-certainty', 'borda', 'majority', 'random'], seed: config.seed });
    } finally {
      model.dispose();
    }
  };

  out(`intuitor demo: ${displayPath(config.model)} on ${testItems.length} held-out arith problems (levels ${config.levels}); intervals are 95% bootstrap over problems\n`);
  let bestOfNBefore: BonEvaluation | undefined;
  if (config.samples > 0) {
    bestOfNBefore = await bestOfN(config.model, 'before', config.samples);
    out(`\n1. Does the model's confidence predict correctness? ${config.samples} samples per problem\n\n${formatEvaluation(bestOfNBefore)}\n`);
  }
  const beforeGreedy = await greedy(config.model, config.model, 'before');
  const before = { greedy: summarizeGreedy(beforeGreedy, undefined, { seed: config.seed }), meanSelfCertainty: beforeGreedy.selfCertainty, ...(bestOfNBefore ? { bestOfN: bestOfNBefore } : {}) };

  const runs: DemoTrainingRun[] = [];
  let afterIntuitor: BonEvaluation | undefined;
  // Intuitor sees questions only: labels reach the trainer only for the correctness baseline.
  const trainItems = arithQaItems({ split: 'train', count: 5000, levels, seed: config.seed });
  for (const run of demoRuns(config)) {
    const output = join(config.output, run);
    const grpo = resolveGrpoConfig({
      model: config.model, output, reward: run === 'correctness' ? 'correctness' : 'self-certainty', offlineCertainty: run === 'offline',
      steps: config.steps, promptsPerStep: config.promptsPerStep, numGenerations: config.numGenerations, microBatchSize: 56,
      learningRate: run === 'high-lr' ? config.highLearningRate : config.learningRate, maxCompletionLength: config.maxCompletionLength,
      temperature: config.temperature, ...format, saveSteps: config.steps, logCompletions: 0, seed: config.seed, ...placement,
    });
    io.stderr.write(`[training: ${RUN_TITLES[run](config)}, ${config.steps} steps of ${config.promptsPerStep} x ${config.numGenerations} responses; run folder ${output}]\n`);
    const items = trainItems.map((item) => ({ ...item, label: run === 'correctness' ? item.label : undefined }));
    await train({ config: grpo, tokenizer, items, log: io.stderr as never });
    const trained = join(latestCheckpoint(output)!.dir, 'model');
    const evaluation = await greedy(trained, RUN_TITLES[run](config), run);
    runs.push({ run, greedy: summarizeGreedy(evaluation, beforeGreedy, { seed: config.seed }), meanSelfCertainty: evaluation.selfCertainty });
    if (run === 'intuitor' && config.samplesAfter > 0) afterIntuitor = await bestOfN(trained, 'after-intuitor', config.samplesAfter);
  }

  out(`\n2. Training on the training split, then greedy answers to the same held-out problems (${config.steps} steps of ${config.promptsPerStep} prompts x ${config.numGenerations} responses)\n\n`);
  const rows = [{ title: 'before', ...before }, ...runs.map((r) => ({ title: RUN_TITLES[r.run](config), ...r }))];
  out(greedyTable(rows));
  out(`\nMost common greedy answers (count of ${testItems.length}):\n`);
  for (const { title, greedy: g } of rows) out(`  ${title.padEnd(34)} ${g.top.map((t) => `${t.answer} (${t.count})`).join(', ')}\n`);
  if (bestOfNBefore && afterIntuitor) {
    out(`\n3. Self-certainty AUROC, correct vs incorrect samples, before (${config.samples} per problem) and after Intuitor (${config.samplesAfter} per problem)\n\n`);
    const row = (title: string, e: BonEvaluation) => {
      const s = e.auroc['self-certainty'];
      return [title, interval3(s.pooled.auroc, s.pooled.low, s.pooled.high), interval3(s.within.auroc, s.within.low, s.within.high), pct(e.curves['random']![0]!.accuracy)];
    };
    out(markdownTable(['model', 'pooled', 'within a problem', 'sampled accuracy'], [row('before', bestOfNBefore), row('after Intuitor', afterIntuitor)]));
  }
  const seconds = (performance.now() - started) / 1000;
  out(`\n(${seconds.toFixed(0)} s in all; run folders, metrics.jsonl and best-of-N results in ${config.output}; \`intuitor report --run ${join(config.output, 'intuitor')}\` charts a run)\n`);
  return { before, runs, ...(afterIntuitor ? { afterIntuitor } : {}), seconds };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');
const interval3 = (v: number, low: number, high: number) => `${v.toFixed(3)} [${low.toFixed(3)}, ${high.toFixed(3)}]`;

function greedyTable(rows: { title: string; greedy: GreedySummary; meanSelfCertainty: number }[]): string {
  const columns = ['model', 'greedy accuracy', 'change (paired)', 'scratchpad (its accuracy)', 'answer alone (its accuracy)', 'wrong column facts', 'answers ending in 0', 'distinct answers', 'self-certainty'];
  const styleCell = (g: GreedySummary, style: string) => {
    const s = g.styles[style];
    return s ? `${pct(s.share)} (${pct(s.accuracy)})` : '0%';
  };
  const cells = rows.map(({ title, greedy: g, meanSelfCertainty }) => [
    title,
    `${pct(g.accuracy.value)} [${pct(g.accuracy.low)}, ${pct(g.accuracy.high)}]`,
    g.change ? `${g.change.value >= 0 ? '+' : ''}${(100 * g.change.value).toFixed(1)} [${(100 * g.change.low).toFixed(1)}, ${(100 * g.change.high).toFixed(1)}]` : '',
    styleCell(g, 'columns'),
    styleCell(g, 'answer'),
    pct(g.wrongColumnFacts),
    pct(g.finalZeroShare),
    pct(g.distinctShare),
    meanSelfCertainty.toFixed(3),
  ]);
  return markdownTable(columns, cells);
}

function markdownTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((c, k) => Math.max(c.length, ...rows.map((row) => row[k]!.length)));
  const line = (row: string[]) => `| ${row.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |\n`;
  return line(columns) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join('');
}
