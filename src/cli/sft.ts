// `intuitor sft`: supervised fine-tuning of a model folder on (prompt, completion) pairs, with the
// loss on completion tokens only (rl/sft.ts). --data arith uses the built-in task's worked
// solutions, with prompts formatted exactly as `intuitor train` formats them (question + the default
// instruction, in the chat template with --chat), so SFT and RL see the same prompts.

import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { loadModel, saveModel } from '../model/load.ts';
import { arithSftExamples, parseStyleMix } from '../data/arith.ts';
import { checkDtypeDevice, grpoFlags, type ComputeDtype } from '../rl/config.ts';
import { loadModelConfig } from '../model/config.ts';
import type { PromptCompletion } from '../model/pack.ts';
import { BadRows } from '../data/bad-rows.ts';
import { fitPromptCompletions, readPromptCompletionTexts } from '../data/checked-dataset.ts';
import { promptFit } from './prompt-fit.ts';
import { parseArithLevels } from './arith-task.ts';
import { sft, type SftStepMetrics } from '../rl/sft.ts';
import { Progress } from '../report/progress.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const sftFlags = {
  model: { type: 'string', required: true, help: 'the model folder to start from (Hugging Face layout)' },
  data: { type: 'string', default: 'arith', help: "'arith' (built-in worked solutions), or a .jsonl or .parquet file of {\"prompt\", \"completion\"} rows" },
  skipBadRows: { type: 'boolean', help: 'leave out rows that cannot be used (bad JSON or UTF-8, missing or blank prompt or completion, too long for the model) and count them, instead of stopping at the first' },
  output: { type: 'string', required: true, help: 'where the fine-tuned model is written (atomically, at the end)' },
  steps: { type: 'int', default: 1000, min: 1, help: 'optimizer steps' },
  batchSize: { type: 'int', default: 32, min: 1, help: 'examples per step' },
  learningRate: { type: 'number', default: 1e-3, min: 0, exclusiveMin: true, help: 'peak learning rate' },
  warmupRatio: { type: 'number', default: 0.05, min: 0, max: 1, help: 'share of the steps with linear warmup' },
  minLrRatio: { type: 'number', default: 0, min: 0, max: 1, help: 'the cosine schedule ends at this share of the peak learning rate' },
  weightDecay: { type: 'number', default: 0.01, min: 0, help: 'AdamW decoupled weight decay' },
  maxGradNorm: { type: 'number', default: 1, min: 0, exclusiveMin: true, help: 'clip the global gradient norm to this' },
  examples: { type: 'int', default: 20000, min: 1, help: 'arith: how many distinct training problems' },
  levels: { type: 'string', default: '1,2,3,4', help: 'arith: comma-separated levels to draw from (a level named twice counts twice)' },
  styles: { type: 'string', default: 'worked', help: "arith: how the solutions are written, one style or a mix of shares drawn per example, e.g. columns=0.35,answer=0.65 (styles: worked, the one-line steps; columns, sums worked column by column with carries and borrows; answer, the boxed answer alone)" },
  chat: { type: 'boolean', help: "format prompts with the model's chat template (as intuitor train --chat)" },
  system: { ...grpoFlags.system },
  instruction: { ...grpoFlags.instruction },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds the data and its order' },
  dtype: { ...grpoFlags.dtype },
  device: { ...grpoFlags.device, help: "'cpu', 'cuda' or 'cuda:N'" },
} as const satisfies FlagSpecs;

export type SftConfig = FlagValues<typeof sftFlags>;

export function resolveSftConfig(values: Record<string, unknown>): SftConfig {
  const config = checkFlagValues(sftFlags, values);
  parseArithLevels(config.levels);
  parseStyleMix(config.styles, '--styles');
  checkDtypeDevice(config.dtype, config.device);
  return config;
}

/**
 * The examples as token ids, every one checked (fields; prompt + completion within the model's
 * positions) before any model work: the prompt formatted as training formats it, the completion
 * ending with `eos` so that the model learns to stop. Skipped rows are reported to `log`.
 */
export async function loadSftExamples(config: SftConfig, tokenizer: Tokenizer, eos: number | undefined, log?: Writable): Promise<PromptCompletion[]> {
  const bad = new BadRows(config.skipBadRows);
  const texts = config.data === 'arith' ? arithSftExamples({ split: 'train', count: config.examples, levels: parseArithLevels(config.levels), seed: config.seed, styles: parseStyleMix(config.styles, '--styles') }) : await readPromptCompletionTexts(config.data, {}, bad);
  const fit = {
    ...promptFit(tokenizer, config, config.model, 0),
    completionIds: (completion: string) => [...tokenizer.encode(completion, { addSpecialTokens: false }), ...(eos !== undefined ? [eos] : [])],
  };
  const pairs = fitPromptCompletions(texts, fit, config.data, bad);
  const skipped = bad.summary(config.data);
  if (skipped) log?.write(`[${skipped}]\n`);
  return pairs;
}

export async function runSft(config: SftConfig, io: { stderr: Writable }): Promise<SftStepMetrics[]> {
  const tokenizer = await Tokenizer.fromDir(config.model);
  // Every example is read and checked, its length included, before the model loads.
  const eos = loadModelConfig(config.model).eosTokenIds[0] ?? tokenizer.eosTokenId;
  const pairs = await loadSftExamples(config, tokenizer, eos, io.stderr);
  const model = loadModel(config.model, { dtype: config.dtype as ComputeDtype, device: config.device });
  try {
    io.stderr.write(`[sft ${config.model} on ${config.data} (${pairs.length} examples), ${config.steps} steps of ${config.batchSize}]\n`);
    const progress = new Progress({ label: 'sft', total: config.steps, unit: 'steps', stream: io.stderr as never });
    let recent: number[] = [];
    const history = await sft(model, pairs, {
      steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, warmupSteps: Math.round(config.warmupRatio * config.steps),
      minLearningRate: config.minLrRatio * config.learningRate,
      weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm, seed: config.seed, padId: model.config.padTokenId ?? eos ?? 0, weightsDir: config.model,
      onStep: (m) => {
        recent = [...recent.slice(-19), m.loss];
        progress.tick(1, `loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)} lr ${m.lr.toExponential(2)}`);
      },
    });
    progress.finish();
    saveModel(model, config.output, { tokenizerDir: config.model });
    io.stderr.write(`[saved ${config.output}; final loss (mean of last 20 steps) ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)}]\n`);
    return history;
  } finally {
    model.dispose();
  }
}
