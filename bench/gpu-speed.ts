// Part (f) of bench/gpu-check.ts: intuitor against plain PyTorch (bench/train.py, bench/generate.py) on
// one device, same weights, in interleaved rounds: forward+backward of bench/train.ts's packed batch, and a
// decode-heavy generate() (8 prompts x 64 tokens -> 128 sampled tokens each, EOS off). Every clock is read
// after synchronising the device. Reported as time ratios, intuitor / Python (above 1: intuitor slower),
// each the median over rounds of the round's own ratio.

import * as torch from '../src/torch/index.ts';
import type { CausalLM } from '../src/model/causal-lm.ts';
import { generate } from '../src/generate/generate.ts';
import { both, checkPythonInfo, engineEnvNames, fmt, median, nowNs, progress, PythonSide, synchronize, type PythonInfo, type Sample } from './harness.ts';
import { fixedBatch, fwdbwdBatch, tsFwdBwd, type FwdBwd } from './fwdbwd.ts';

export interface SpeedSettings {
  rounds: number;
  /** forward+backward passes per round and side (their mean is the round's time) */
  fwdbwdReps: number;
  decode: { batch: number; promptLength: number; maxNewTokens: number; temperature: number; seed: number; promptSeed: number };
  /** tokens of the greedy TS-vs-Python check before the generate() timings */
  greedyTokens: number;
}

export interface SpeedResult {
  python: PythonInfo & { python: string; device?: string; deviceName?: string; allowTf32?: boolean };
  /** one pass on each side before the timings: relative differences */
  fwdbwdAgreement: { intuitor: FwdBwd; python: FwdBwd; lossRelDiff: number; logprobSumRelDiff: number; gradNormRelDiff: number };
  /** greedy tokens of both sides from the decode prompts */
  greedy: { tokens: number; mismatches: number; maxStatDiff: number };
  ratios: { fwdbwd: number; generate: number };
  ms: { fwdbwd: Sample[]; generate: Sample[] };
  medians: { fwdbwd: Sample; generate: Sample };
}

interface GenerateAnswer {
  total_ms: number;
  tokens: number[][];
  stats: number[][][];
}

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** Prompts of random token ids (never the pad id 0), from a seeded generator. */
export function randomPrompts(lengths: readonly number[], vocab: number, seed: number): number[][] {
  const generator = new torch.Generator(seed);
  return lengths.map((length) => torch.scope(() => Array.from(torch.randint(3, vocab, [length], { generator }).toArray() as BigInt64Array, Number)));
}

async function tsGenerate(model: CausalLM, prompts: number[][], maxNewTokens: number, temperature: number, seed: number): Promise<GenerateAnswer> {
  synchronize(model.device);
  const start = nowNs();
  const out = await generate(model, prompts, { maxNewTokens, temperature, seed, eosTokenIds: [] });
  synchronize(model.device);
  const totalMs = Number(nowNs() - start) / 1e6;
  return { total_ms: totalMs, tokens: out.map((s) => s.tokenIds), stats: out.map((s) => s.tokenIds.map((_, i) => [s.logprobs[i]!, s.entropies[i]!, s.selfCertainties[i]!])) };
}

/**
 * Runs the comparison. `model` is float32 on the device with gradients on its parameters (it is not
 * updated); `python` the interpreter whose torch runs on that device.
 */
export async function compareSpeed(model: CausalLM, modelDir: string, python: string, env: NodeJS.ProcessEnv, s: SpeedSettings): Promise<SpeedResult> {
  const device = model.device;
  const threads = torch.getNumThreads();
  const settings = { threads, device };
  const trainPy = new PythonSide('train.py', settings, env, 200, python);
  const generatePy = new PythonSide('generate.py', settings, env, 200, python);
  try {
    const info = torch.runtimeInfo();
    const pyInfo = await trainPy.call<SpeedResult['python']>({ cmd: 'info', envNames: engineEnvNames });
    checkPythonInfo(pyInfo, threads, env, info.blasCore);
    checkPythonInfo(await generatePy.call<PythonInfo>({ cmd: 'info', envNames: engineEnvNames }), threads, env, info.blasCore);
    await trainPy.call({ cmd: 'load', dir: modelDir });
    await generatePy.call({ cmd: 'load', dir: modelDir, pad_id: model.config.padTokenId ?? 0 });

    // Forward+backward: one checked pass, then the rounds.
    const params = model.parameters();
    const f = { ...fwdbwdBatch };
    const { batch, advantages } = fixedBatch(f, model.config.vocabSize, model.config.padTokenId ?? 0);
    const pyFwdBwd = (reps: number, check: boolean) => trainPy.call<FwdBwd>({ cmd: 'fwdbwd', batch, advantages, temperature: f.temperature, epsilon: f.epsilon, reps, check });
    const tsCheck = tsFwdBwd(model, params, batch, advantages, f, 1, true);
    const pyCheck = await pyFwdBwd(1, true);
    const fwdbwdAgreement = {
      intuitor: tsCheck,
      python: pyCheck,
      lossRelDiff: relDiff(tsCheck.loss, pyCheck.loss),
      logprobSumRelDiff: relDiff(tsCheck.logprob_sum!, pyCheck.logprob_sum!),
      gradNormRelDiff: relDiff(tsCheck.grad_norm!, pyCheck.grad_norm!),
    };

    // generate(): a greedy check of both sides, then the sampled timings.
    const d = s.decode;
    const prompts = randomPrompts(Array<number>(d.batch).fill(d.promptLength), model.config.vocabSize, d.promptSeed);
    const pyGenerate = (maxNewTokens: number, temperature: number, seed: number) =>
      generatePy.call<GenerateAnswer>({ cmd: 'generate', prompts, max_new_tokens: maxNewTokens, temperature, seed, return_tokens: true });
    const tsGreedy = await tsGenerate(model, prompts, s.greedyTokens, 0, 0);
    const pyGreedy = await pyGenerate(s.greedyTokens, 0, 0);
    const greedy = { tokens: 0, mismatches: 0, maxStatDiff: 0 };
    tsGreedy.tokens.forEach((row, r) =>
      row.forEach((token, i) => {
        greedy.tokens++;
        if (token !== pyGreedy.tokens[r]![i]) greedy.mismatches++;
        else for (let k = 0; k < 3; k++) greedy.maxStatDiff = Math.max(greedy.maxStatDiff, Math.abs(tsGreedy.stats[r]![i]![k]! - pyGreedy.stats[r]![i]![k]!));
      }),
    );

    const ms: SpeedResult['ms'] = { fwdbwd: [], generate: [] };
    const round = async (r: number, record: boolean): Promise<void> => {
      const tsFirst = r % 2 === 0;
      const reps = record ? s.fwdbwdReps : 1;
      const [tsF, pyF] = await both(tsFirst, () => tsFwdBwd(model, params, batch, advantages, f, reps, false), () => pyFwdBwd(reps, false), true);
      const seed = d.seed + r;
      const [tsG, pyG] = await both(tsFirst, () => tsGenerate(model, prompts, d.maxNewTokens, d.temperature, seed), () => pyGenerate(d.maxNewTokens, d.temperature, seed), true);
      if (record) {
        ms.fwdbwd.push({ intuitor: tsF.ms, python: pyF.ms });
        ms.generate.push({ intuitor: tsG.total_ms, python: pyG.total_ms });
      }
      progress(
        `${record ? `speed round ${r + 1}/${s.rounds}` : 'speed warm-up'}: forward+backward ${fmt(tsF.ms, 2)} vs ${fmt(pyF.ms, 2)} ms, ` +
          `generate() ${fmt(tsG.total_ms, 1)} vs ${fmt(pyG.total_ms, 1)} ms (intuitor vs python)`,
      );
    };
    await round(1, false);
    for (let r = 0; r < s.rounds; r++) await round(r, true);
    const ratio = (xs: Sample[]) => median(xs.map((x) => x.intuitor / x.python));
    const medians = (xs: Sample[]): Sample => ({ intuitor: median(xs.map((x) => x.intuitor)), python: median(xs.map((x) => x.python)) });
    return {
      python: { ...pyInfo, python: pyInfo.python },
      fwdbwdAgreement,
      greedy,
      ratios: { fwdbwd: ratio(ms.fwdbwd), generate: ratio(ms.generate) },
      ms,
      medians: { fwdbwd: medians(ms.fwdbwd), generate: medians(ms.generate) },
    };
  } finally {
    torch.zeroGrad(model.parameters());
    await trainPy.close();
    await generatePy.close();
  }
}
