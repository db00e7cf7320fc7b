// `intuitor sft`: supervised fine-tuning of a model folder on (prompt, completion) pairs, with the
// loss on completion tokens only (rl/sft.ts). --data arith uses the built-in task's worked
// solutions, with prompts formatted exactly as `intuitor train` formats them (question + the default
// instruction, in the chat template with --chat), so SFT and RL see the same prompts.

import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { loadModel, saveModel } from '../model/load.ts';
import { arithSftExamples } from '../data/arith.ts';
import { grpoFlags } from '../rl/config.ts';
import { promptIds } from '../rl/prompt.ts';
import { sft, type SftStepMetrics } from '../rl/sft.ts';
import { Progress } from '../report/progress.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';

export const sftFlags = {
  model: { type: 'string', required: true, help: 'the model folder to start from (Hugging Face layout)' },
  data: { type: 'string', default: 'arith', help: "'arith' (built-in worked solutions), or a .jsonl file of {\"prompt\", \"completion\"} rows" },
  output: { type: 'string', required: true, help: 'where the fine-tuned model is written (atomically, at the end)' },
  steps: { type: 'int', default: 1000, min: 1, help: 'optimizer steps' },
  batchSize: { type: 'int', default: 32, min: 1, help: 'examples per step' },
  learningRate: { type: 'number', default: 1e-3, min: 0, exclusiveMin: true, help: 'peak learning rate' },
  warmupRatio: { type: 'number', default: 0.05, min: 0, max: 1, help: 'share of the steps with linear warmup' },
  weightDecay: { type: 'number', default: 0.01, min: 0, help: 'AdamW decoupled weight decay' },
  maxGradNorm: { type: 'number', default: 1, min: 0, exclusiveMin: true, help: 'clip the global gradient norm to this' },
  examples: { type: 'int', default: 20000, min: 1, help: 'arith: how many distinct training problems' },
  levels: { type: 'string', default: '1,2,3,4', help: 'arith: comma-separated levels to draw from (a level named twice counts twice)' },
  chat: { type: 'boolean', help: "format prompts with the model's chat template (as intuitor train --chat)" },
  system: { ...grpoFlags.system },
  instruction: { ...grpoFlags.instruction },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds the data and its order' },
} as const satisfies FlagSpecs;

export type SftConfig = FlagValues<typeof sftFlags>;

export function resolveSftConfig(values: Record<string, unknown>): SftConfig {
  const config = checkFlagValues(sftFlags, values);
  const levels = config.levels.split(',').map((s) => Number(s.trim()));
  if (levels.some((l) => ![1, 2, 3, 4].includes(l))) throw new Error(`--levels must list levels 1-4, got "${config.levels}"`);
  return config;
}

/** (prompt, completion) texts: the question (formatted later) and the completion. */
function readExamples(config: SftConfig): { prompt: string; completion: string }[] {
  if (config.data === 'arith') {
    const levels = config.levels.split(',').map((s) => Number(s.trim()) as 1 | 2 | 3 | 4);
    return arithSftExamples({ split: 'train', count: config.examples, levels, seed: config.seed });
  }
  return readFileSync(config.data, 'utf8').split('\n').filter((l) => l.trim()).map((line, i) => {
    const row = JSON.parse(line) as { prompt?: unknown; completion?: unknown };
    if (typeof row.prompt !== 'string' || typeof row.completion !== 'string') throw new Error(`${config.data}:${i + 1}: each row needs string "prompt" and "completion"`);
    return { prompt: row.prompt, completion: row.completion };
  });
}

export async function runSft(config: SftConfig, io: { stderr: Writable }): Promise<SftStepMetrics[]> {
  const tokenizer = await Tokenizer.fromDir(config.model);
  const model = loadModel(config.model);
  try {
    const eos = model.config.eosTokenIds[0] ?? tokenizer.eosTokenId;
    const pairs = readExamples(config).map((e) => ({
      prompt: promptIds(tokenizer, e.prompt, config),
      // the completion ends with EOS so that the model learns to stop
      completion: [...tokenizer.encode(e.completion, { addSpecialTokens: false }), ...(eos !== undefined ? [eos] : [])],
    }));
    io.stderr.write(`[sft ${config.model} on ${config.data} (${pairs.length} examples), ${config.steps} steps of ${config.batchSize}]\n`);
    const progress = new Progress({ label: 'sft', total: config.steps, unit: 'steps', stream: io.stderr as never });
    let recent: number[] = [];
    const history = await sft(model, pairs, {
      steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, warmupSteps: Math.round(config.warmupRatio * config.steps),
      weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm, seed: config.seed, padId: model.config.padTokenId ?? eos ?? 0,
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
