// Benchmarks one GRPO training step of intuitor's trainer on a small model, and its forward+backward
// part against the same computation in plain PyTorch (Python), on the same weights and libtorch, in one run.
//
//   npm run bench:train          (or: node --import tsx bench/train.ts [--rounds N] [--quick] [--device cpu|cuda])
//
// The model is bench/generate.ts's small random Qwen2-shaped model (same config, seed and draws), saved
// with saveModel to a temporary folder, with a word-level tokenizer of exactly its 32000 ids. Part 1 runs
// the real trainer (train() with resolveGrpoConfig: 4 prompts x 4 responses of 64 tokens, one micro-batch)
// and reports the phase timings it logs to metrics.jsonl. Part 2 times completionLogprobs + policyLoss
// (grpo, beta 0) + backward on a fixed packed batch (16 x (prompt 32 + completion 64), left-padded as
// model/pack.ts does) against bench/train.py doing the same, checks that both compute the same loss,
// log-probabilities and gradient norm, and compares the time per forward+backward, interleaved rounds.
// With --device cuda (or cuda:N) the weights, batches and both sides' work live on that GPU, and every
// clock is read after synchronising the device; Python is the first of INTUITOR_PYTHON, /usr/bin/python3,
// python3 whose torch sees a GPU.
// Prints tables, then one line that is a JSON object. See bench/README.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.ts';
import { CausalLM } from '../src/model/causal-lm.ts';
import { loadModel } from '../src/model/load.ts';
import { Tokenizer } from '../src/tokenizer/index.ts';
import { arithQaItems } from '../src/data/arith.ts';
import { resolveGrpoConfig } from '../src/rl/config.ts';
import { readMetrics, train, type StepMetrics } from '../src/rl/trainer.ts';
import { both, checkPythonInfo, envReport, exposeGc, fmt, intuitorLine, median, parseDevice, parseRounds, printTable, progress, PythonSide, quick, requirePython, engineEnvNames, type PythonInfo, type Sample } from './harness.ts';
import { saveSmallModel, smallModelConfig, smallModelWeights, writeSmallModelTokenizer } from './small-model.ts';
import { batchTokens, fixedBatch, fwdbwdBatch, tsFwdBwd, type FwdBwd } from './fwdbwd.ts';

// ---- settings ---------------------------------------------------------------------------------

const rounds = parseRounds(2, 9);
const device = parseDevice('cpu');

const modelConfig = smallModelConfig;

const settings = {
  threads: torch.getNumThreads(),
  rounds,
  device,
  model: smallModelWeights,
  // Part 1: the trainer. The first step is a warm-up (it also makes AdamW's state); the last is reported.
  grpo: {
    steps: quick ? 1 : 2, promptsPerStep: 4, numGenerations: 4, microBatchSize: 16, maxCompletionLength: 64,
    beta: 0, learningRate: 1e-5, warmupRatio: 0, seed: 1, system: '', instruction: '', logCompletions: 0, reward: 'self-certainty',
  },
  // Part 2: forward+backward of one packed micro-batch.
  // Rows b: prompt 32 - 2 (b % 8) tokens, completion 64 - 4 (b % 4) tokens, so padding and the completion mask take part.
  fwdbwd: { ...fwdbwdBatch, reps: quick ? 1 : 3, lossTolerance: 1e-4 },
};

/** intuitor's time / Python's for forward+backward must be at most this (the issue). */
const targetRatio = 1.1;

// ---- part 1: one GRPO step ------------------------------------------------------------------------

async function grpoSteps(modelDir: string, runDir: string): Promise<StepMetrics[]> {
  const g = settings.grpo;
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const items = arithQaItems({ split: 'train', count: g.steps * g.promptsPerStep, levels: [1], seed: g.seed });
  const { steps, ...rest } = g;
  const config = resolveGrpoConfig({ model: modelDir, output: runDir, steps, saveSteps: 1000, ...rest, device });
  await train({ config, tokenizer, items, resume: false, log: process.stderr });
  const metrics = readMetrics(runDir);
  if (metrics.length !== steps) throw new Error(`the run logged ${metrics.length} steps, expected ${steps}`);
  return metrics;
}

// ---- the run ------------------------------------------------------------------------------------

exposeGc();

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

async function main(): Promise<void> {
  const info = torch.runtimeInfo();
  const env: NodeJS.ProcessEnv = { ...process.env };
  progress(`${intuitorLine(info, settings.threads, env)}; ${rounds} rounds${device === 'cpu' ? '' : `; on ${device}`}`);
  const python = requirePython(device !== 'cpu');

  const dir = mkdtempSync(join(tmpdir(), 'intuitor-bench-train-'));
  const modelDir = join(dir, 'qwen2-bench');
  const runDir = join(dir, 'run');
  let model: CausalLM | undefined;
  let py: PythonSide | undefined;
  let pyInfo: PythonInfo & { python: string };
  let steps: StepMetrics[];
  let check: { intuitor: FwdBwd; python: FwdBwd; lossRelDiff: number; logprobSumRelDiff: number; gradNormRelDiff: number; agree: boolean };
  const samples: Sample[] = [];
  let tokens: { batch: number; length: number; completionWidth: number; completionTokens: number };
  try {
    saveSmallModel(modelDir);
    writeSmallModelTokenizer(modelDir);

    // 1. One GRPO step (after a warm-up step) with the real trainer.
    progress(`GRPO: ${settings.grpo.steps} step(s) of ${settings.grpo.promptsPerStep} prompts x ${settings.grpo.numGenerations} responses, up to ${settings.grpo.maxCompletionLength} tokens`);
    steps = await grpoSteps(modelDir, runDir);
    for (const m of steps) {
      progress(`step ${m.step}: generate ${fmt(m.seconds.generate, 2)} s, score ${fmt(m.seconds.score, 3)} s, backward ${fmt(m.seconds.backward, 2)} s, ${fmt(m.tokensPerSecond, 0)} tokens/s, completion length ${fmt(m.completionLength, 1)}`);
    }

    // 2. Forward+backward, side by side.
    model = loadModel(modelDir, { dtype: 'float32', device });
    const params = model.parameters();
    for (const p of params) p.requiresGrad_(true);
    const f = settings.fwdbwd;
    const { batch, advantages } = fixedBatch(f, model.config.vocabSize, modelConfig.pad_token_id);
    tokens = batchTokens(batch);
    py = new PythonSide('train.py', settings, env, 200, python);
    pyInfo = await py.call({ cmd: 'info', envNames: engineEnvNames });
    checkPythonInfo(pyInfo, settings.threads, env, info.blasCore);
    await py.call({ cmd: 'load', dir: modelDir });
    const pyCommand = (reps: number, withCheck: boolean) => ({ cmd: 'fwdbwd', batch, advantages, temperature: f.temperature, epsilon: f.epsilon, reps, check: withCheck });

    const tsCheck = tsFwdBwd(model, params, batch, advantages, f, 1, true);
    const pyCheck = await py.call<FwdBwd>(pyCommand(1, true));
    const lossRelDiff = relDiff(tsCheck.loss, pyCheck.loss);
    const logprobSumRelDiff = relDiff(tsCheck.logprob_sum!, pyCheck.logprob_sum!);
    const gradNormRelDiff = relDiff(tsCheck.grad_norm!, pyCheck.grad_norm!);
    const agree = lossRelDiff <= f.lossTolerance && logprobSumRelDiff <= f.lossTolerance && gradNormRelDiff <= f.lossTolerance;
    check = { intuitor: tsCheck, python: pyCheck, lossRelDiff, logprobSumRelDiff, gradNormRelDiff, agree };
    progress(
      `same computation: loss ${tsCheck.loss} vs ${pyCheck.loss} (relative difference ${lossRelDiff.toExponential(2)}), ` +
        `sum of log-probs ${fmt(tsCheck.logprob_sum, 4)} vs ${fmt(pyCheck.logprob_sum, 4)} (${logprobSumRelDiff.toExponential(2)}), ` +
        `gradient norm ${fmt(tsCheck.grad_norm, 6)} vs ${fmt(pyCheck.grad_norm, 6)} (${gradNormRelDiff.toExponential(2)})`,
    );
    if (!agree) throw new Error(`the two sides differ by more than ${f.lossTolerance} (relative): loss ${lossRelDiff}, log-prob sum ${logprobSumRelDiff}, gradient norm ${gradNormRelDiff}`);

    const side = py;
    const tsModel = model;
    const round = async (r: number, record: boolean): Promise<void> => {
      const reps = record ? f.reps : 1;
      const [ts, p] = await both(r % 2 === 0, () => tsFwdBwd(tsModel, params, batch, advantages, f, reps, false), () => side.call<FwdBwd>(pyCommand(reps, false)), true);
      if (record) samples.push({ intuitor: ts.ms, python: p.ms });
      progress(`${record ? `round ${r + 1}/${rounds}` : 'warm-up  '}: forward+backward ${fmt(ts.ms, 1)} vs ${fmt(p.ms, 1)} ms, ratio ${fmt(ts.ms / p.ms, 3)}`);
    };
    await round(1, false);
    for (let r = 0; r < rounds; r++) await round(r, true);
  } finally {
    await py?.close();
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  report(info, pyInfo, steps, check, samples, tokens);
}

function report(
  info: torch.RuntimeInfo,
  pyInfo: { torch: string; python: string; blasCore: string },
  steps: StepMetrics[],
  check: { intuitor: FwdBwd; python: FwdBwd; lossRelDiff: number; logprobSumRelDiff: number; gradNormRelDiff: number; agree: boolean },
  samples: Sample[],
  tokens: { batch: number; length: number; completionWidth: number; completionTokens: number },
): void {
  const last = steps[steps.length - 1]!;
  const stepSeconds = last.seconds.generate + last.seconds.score + last.seconds.backward;
  const sequences = settings.grpo.promptsPerStep * settings.grpo.numGenerations;
  const on = device === 'cpu' ? '' : ` on ${device}`;
  console.log(`\nOne GRPO step${on} (step ${last.step} of ${steps.length}; ${sequences} responses, mean length ${fmt(last.completionLength, 1)} tokens; intuitor's trainer, metrics.jsonl):\n`);
  printTable(
    ['phase', 'seconds', 'share'],
    [
      ['generate', fmt(last.seconds.generate, 3), `${fmt((100 * last.seconds.generate) / stepSeconds, 1)}%`],
      ['score', fmt(last.seconds.score, 3), `${fmt((100 * last.seconds.score) / stepSeconds, 1)}%`],
      ['backward (fwd+bwd, clip, AdamW)', fmt(last.seconds.backward, 3), `${fmt((100 * last.seconds.backward) / stepSeconds, 1)}%`],
      ['step', fmt(stepSeconds, 3), ''],
      ['tokens/s (generated / step)', fmt(last.tokensPerSecond, 0), ''],
    ],
  );
  const ratio = median(samples.map((s) => s.intuitor / s.python));
  const intuitorMs = median(samples.map((s) => s.intuitor));
  const pythonMs = median(samples.map((s) => s.python));
  console.log(`\nForward+backward of one micro-batch${on} (${tokens.batch} x ${tokens.length} tokens, ${tokens.completionWidth} completion columns, ${tokens.completionTokens} completion tokens), ${samples.length} rounds, median ms:\n`);
  printTable(['workload', 'intuitor', 'python', 'ratio', 'target'], [['fwdbwd (ms)', fmt(intuitorMs, 1), fmt(pythonMs, 1), fmt(ratio, 3), `<= ${targetRatio}`]]);
  console.log(`\nloss ${check.intuitor.loss} vs ${check.python.loss}: relative difference ${check.lossRelDiff.toExponential(2)} (tolerance ${settings.fwdbwd.lossTolerance})\n`);
  console.log(
    JSON.stringify({
      ratios: { fwdbwd: ratio },
      ratioOfMedians: { fwdbwd: intuitorMs / pythonMs },
      intuitor: { fwdbwd: intuitorMs },
      python: { fwdbwd: pythonMs },
      units: { fwdbwd: 'ms per forward+backward', seconds: 's', tokensPerSecond: 'generated tokens / step seconds' },
      targets: { ratio: targetRatio, met: { fwdbwd: ratio <= targetRatio } },
      grpoStep: { step: last.step, seconds: last.seconds, tokensPerSecond: last.tokensPerSecond, completionLength: last.completionLength, loss: last.loss, gradNorm: last.gradNorm },
      grpoSteps: steps.map((m) => ({ step: m.step, seconds: m.seconds, tokensPerSecond: m.tokensPerSecond, completionLength: m.completionLength })),
      agreement: check,
      batch: tokens,
      env: envReport(info, pyInfo, settings.threads),
      model: modelConfig,
      settings,
      raw: samples,
    }),
  );
}

await main();
