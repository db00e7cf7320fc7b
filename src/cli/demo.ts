// `intuitor demo` (npm run demo): Intuitor on the embedded default model. It measures
// models/arith-tiny on held-out arith test problems (greedy accuracy, mean self-certainty, mean
// response length), trains it for a few minutes with GRPO whose only reward is self-certainty (no
// labels reach the trainer), measures again and prints a before/after table. --reward correctness
// runs the rule-based GRPO baseline on the same prompts instead.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { loadModel } from '../model/load.ts';
import { arithQaItems, type ArithLevel } from '../data/arith.ts';
import { evaluateQa, type QaEvaluation } from '../eval/qa-accuracy.ts';
import { resolveGrpoConfig } from '../rl/config.ts';
import { ARITH_TINY_FORMAT } from '../rl/prompt.ts';
import { train } from '../rl/trainer.ts';
import { latestCheckpoint } from '../rl/checkpoint.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const demoFlags = {
  model: { type: 'string', default: 'models/arith-tiny', help: 'the starting model (the embedded default model)' },
  reward: { type: 'string', default: 'self-certainty', choices: ['self-certainty', 'correctness'], help: 'Intuitor (self-certainty, no labels) or the GRPO baseline (correctness)' },
  output: { type: 'string', default: 'runs/demo', help: 'run folder (replaced)' },
  steps: { type: 'int', default: 40, min: 1, help: 'training steps' },
  promptsPerStep: { type: 'int', default: 8, min: 1, help: 'prompts per step' },
  numGenerations: { type: 'int', default: 7, min: 2, help: 'responses per prompt' },
  learningRate: { type: 'number', default: 2e-5, min: 0, exclusiveMin: true, help: 'peak learning rate' },
  maxCompletionLength: { type: 'int', default: 96, min: 1, help: 'the most tokens per response' },
  evalProblems: { type: 'int', default: 200, min: 1, help: 'held-out test problems measured before and after' },
  levels: { type: 'string', default: '1', help: 'arith levels of the training and test problems (the default model can do some of level 1)' },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds data order and sampling' },
} as const satisfies FlagSpecs;

export type DemoConfig = FlagValues<typeof demoFlags>;

export function resolveDemoConfig(values: Record<string, unknown>): DemoConfig {
  const config = checkFlagValues(demoFlags, values);
  if (config.levels.split(',').some((l) => !['1', '2', '3', '4'].includes(l.trim()))) throw new Error(`--levels must list levels 1-4, got "${config.levels}"`);
  return config;
}

export interface DemoResult {
  before: QaEvaluation;
  after: QaEvaluation;
  seconds: number;
}

export async function runDemo(config: DemoConfig, io: { stdout: Writable; stderr: Writable }): Promise<DemoResult> {
  const started = performance.now();
  const levels = config.levels.split(',').map((l) => Number(l.trim()) as ArithLevel);
  const format = ARITH_TINY_FORMAT; // the prompts the embedded model was fine-tuned on
  const tokenizer = await Tokenizer.fromDir(config.model);
  const testItems = arithQaItems({ split: 'test', count: config.evalProblems, levels, seed: 1 });
  const measure = async (dir: string, label: string) => {
    io.stderr.write(`[measuring ${label} on ${testItems.length} held-out arith problems, greedy]\n`);
    const model = loadModel(dir);
    try {
      return await evaluateQa(model, tokenizer, testItems, format, { maxNewTokens: config.maxCompletionLength });
    } finally {
      model.dispose();
    }
  };
  const before = await measure(config.model, config.model);

  // Intuitor sees questions only: the labels are removed unless the reward is correctness.
  const trainItems = arithQaItems({ split: 'train', count: 5000, levels, seed: config.seed }).map((item) => ({ ...item, label: config.reward === 'correctness' ? item.label : undefined }));
  const grpo = resolveGrpoConfig({
    model: config.model, output: config.output, reward: config.reward, steps: config.steps, promptsPerStep: config.promptsPerStep,
    numGenerations: config.numGenerations, microBatchSize: 28, learningRate: config.learningRate, maxCompletionLength: config.maxCompletionLength,
    ...format, saveSteps: config.steps, logCompletions: 1, seed: config.seed,
  });
  rmSync(config.output, { recursive: true, force: true });
  io.stderr.write(`[training with --reward ${config.reward} for ${config.steps} steps of ${config.promptsPerStep} x ${config.numGenerations} responses; run folder ${config.output}]\n`);
  await train({ config: grpo, tokenizer, items: trainItems, log: io.stderr as never });
  const after = await measure(join(latestCheckpoint(config.output)!.dir, 'model'), 'the trained model');

  const seconds = (performance.now() - started) / 1000;
  const row = (name: string, e: QaEvaluation) => `| ${name.padEnd(22)} | ${`${(100 * e.accuracy).toFixed(1)}%`.padStart(8)} | ${e.selfCertainty.toFixed(3).padStart(14)} | ${e.length.toFixed(1).padStart(15)} |\n`;
  io.stdout.write(`\nHeld-out arith test problems (levels ${config.levels}, n = ${testItems.length}), greedy decoding:\n\n`);
  io.stdout.write(`| model                  | accuracy | self-certainty | response tokens |\n|------------------------|----------|----------------|-----------------|\n`);
  io.stdout.write(row('before', before));
  io.stdout.write(row(`after ${config.reward}`, after));
  io.stdout.write(`\n(${config.steps} steps; ${seconds.toFixed(0)} s in all; metrics in ${join(config.output, 'metrics.jsonl')})\n`);
  return { before, after, seconds };
}
