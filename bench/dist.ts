// Benchmarks data-parallel GRPO training (intuitor train --nproc N, Gloo over loopback) for N = 1
// and N = 2 on this machine: steps/s, tokens/s and the share of a step spent in communication.
//
//   npm run bench:dist          (or: node --import tsx bench/dist.ts [--quick] [--steps S])
//
// Each run is the real command on bench/small-model.ts's 11M-parameter model (44 MB of float32
// gradients to all-reduce per step), 8 arith prompts x 4 responses of up to 32 tokens per step,
// the same global batch for every N. The machine's cores are shared out: N processes get
// cores / N threads each, so N = 2 cannot be faster on 2 cores; what the numbers show is the cost
// of the exchange. "communicate" is the time rank 0 spends inside collectives, which includes
// waiting for the slower rank to arrive. The first step (warm-up) is left out of the medians.
// Prints a table, then one line that is a JSON object. See bench/README.md.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '../src/rl/trainer.ts';
import { freeLoopbackPort as freePort } from '../src/torch/distributed.ts';
import { argv, fmt, median, printTable, progress, quick } from './harness.ts';
import { saveSmallModel, writeSmallModelTokenizer } from './small-model.ts';

const stepsArg = argv.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(argv[stepsArg + 1]) : quick ? 3 : 6;
if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps must be an integer >= 2 (the first is a warm-up), got ${argv[stepsArg + 1]}`);
const cores = availableParallelism();
const worldSizes = [1, 2];
const grpo = ['--prompts-per-step', '8', '--num-generations', '4', '--max-completion-length', '32', '--micro-batch-size', '16', '--beta', '0', '--learning-rate', '1e-5', '--warmup-ratio', '0', '--system', '', '--instruction', '', '--seed', '1', '--log-completions', '0'];
const bin = fileURLToPath(new URL('../bin/intuitor.mjs', import.meta.url));


interface RunResult {
  processes: number;
  threadsPerProcess: number;
  stepSeconds: number;
  stepsPerSecond: number;
  tokensPerSecond: number;
  communicateSeconds: number;
  communicationShare: number;
  phases: { generate: number; score: number; backward: number };
  wallSeconds: number;
}

async function runWith(processes: number, modelDir: string, folder: string): Promise<RunResult> {
  const output = join(folder, `run-${processes}`);
  const threads = Math.max(1, Math.floor(cores / processes));
  progress(`${processes} process${processes > 1 ? 'es' : ''} x ${threads} thread${threads > 1 ? 's' : ''}, ${steps} steps`);
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', 'arith', '--output', output, '--steps', String(steps), '--save-steps', String(steps + 1),
    ...grpo, '--nproc', String(processes), '--master-port', String(await freePort())], { encoding: 'utf8', env: { ...process.env, INTUITOR_NUM_THREADS: String(threads) } });
  if (result.status !== 0) throw new Error(`intuitor train --nproc ${processes} failed:\n${result.stderr}`);
  const wallSeconds = (performance.now() - started) / 1000;
  const measured = readMetrics(output).slice(1); // the first step warms up
  const stepOf = (m: (typeof measured)[number]) => m.seconds.generate + m.seconds.score + m.seconds.backward;
  const stepSeconds = median(measured.map(stepOf));
  const communicateSeconds = median(measured.map((m) => m.seconds.communicate));
  return {
    processes,
    threadsPerProcess: threads,
    stepSeconds,
    stepsPerSecond: 1 / stepSeconds,
    tokensPerSecond: median(measured.map((m) => m.tokensPerSecond)),
    communicateSeconds,
    communicationShare: median(measured.map((m) => m.seconds.communicate / stepOf(m))),
    phases: { generate: median(measured.map((m) => m.seconds.generate)), score: median(measured.map((m) => m.seconds.score)), backward: median(measured.map((m) => m.seconds.backward)) },
    wallSeconds,
  };
}

const folder = mkdtempSync(join(tmpdir(), 'intuitor-bench-dist-'));
try {
  const modelDir = join(folder, 'model');
  saveSmallModel(modelDir);
  writeSmallModelTokenizer(modelDir);
  const results: RunResult[] = [];
  for (const n of worldSizes) results.push(await runWith(n, modelDir, folder));
  console.log(`\nGRPO steps of 8 prompts x 4 responses (<= 32 tokens) on an 11M-parameter model, ${cores} cores shared by the processes; medians over ${steps - 1} steps\n`);
  printTable(
    ['processes', 'threads each', 'step s', 'steps/s', 'tokens/s', 'generate s', 'score s', 'backward s', 'communicate s', 'communication share'],
    results.map((r) => [String(r.processes), String(r.threadsPerProcess), fmt(r.stepSeconds, 3), fmt(r.stepsPerSecond, 3), fmt(r.tokensPerSecond, 0), fmt(r.phases.generate, 3), fmt(r.phases.score, 3), fmt(r.phases.backward, 3), fmt(r.communicateSeconds, 3), `${fmt(100 * r.communicationShare, 1)}%`]),
  );
  const [one, two] = results as [RunResult, RunResult];
  console.log(`\nN = 2 / N = 1 step time: ${fmt(two.stepSeconds / one.stepSeconds, 2)} (on ${cores} cores a speed-up is not expected; the exchange costs ${fmt(100 * two.communicationShare, 1)}% of a step)`);
  console.log(JSON.stringify({ bench: 'dist', cores, steps, results, stepTimeRatio: two.stepSeconds / one.stepSeconds }));
} finally {
  rmSync(folder, { recursive: true, force: true });
}
