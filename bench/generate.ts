// Benchmarks intuitor's batched generation (prefill and KV-cache sampling) against the same decoder and
// loop written in plain PyTorch (Python), on the same weights and the same libtorch, in one run.
//
//   npm run bench:generate          (or: node --import tsx bench/generate.ts [--rounds N] [--quick])
//
// Makes a small random Qwen2-shaped model from a seeded generator, saves it with saveModel to a
// temporary folder and loads it back; `/usr/bin/python3 bench/generate.py` reads the same folder with
// its own safetensors reader. Greedy decoding first checks that both sides compute the same thing
// (same tokens, same per-token statistics); then each round measures prefill tokens/s (one forward of
// 8 x 64 prompt tokens) and decode tokens/s (generate(): 8 sequences x 128 sampled tokens, EOS off) on
// both sides, alternating which goes first, with the same threads and BLAS/OpenMP environment. Prints
// a table, then one line that is a JSON object with the ratios and raw numbers. See bench/README.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.ts';
import { CausalLM, type ForwardOptions } from '../src/model/causal-lm.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { KVCache } from '../src/model/kv-cache.ts';
import { loadParameters } from '../src/model/load.ts';
import { generate } from '../src/generate/generate.ts';
import { both, checkPythonInfo, ensurePythonTorch, envReport, exposeGc, fmt, intuitorLine, median, nowNs, parseRounds, printTable, progress, PythonSide, quick, sideMedians, engineEnvNames, type PythonInfo, type Sample } from './harness.ts';
import { saveSmallModel, smallModelConfig, smallModelWeights } from './small-model.ts';

// ---- settings ---------------------------------------------------------------------------------

const rounds = parseRounds(2, 9);

const modelConfig = smallModelConfig;

const settings = {
  threads: torch.getNumThreads(),
  rounds,
  model: smallModelWeights,
  promptSeed: 7,
  prefill: { batch: 8, promptLength: 64, reps: quick ? 1 : 3 },
  decode: { batch: 8, promptLength: 64, maxNewTokens: 128, temperature: 1, seed: 1000 },
  // Left-padded prompts of different lengths, so the check covers the padding mask and position ids too.
  greedy: { promptLengths: [64, 57, 50, 43, 36, 29, 22, 15], maxNewTokens: 128, statTolerance: 1e-4 },
};

/** intuitor tokens/s over Python tokens/s must reach this (the issue's "intuitor >= Python"). */
const targetRatio = 1;

const msBetween = (start: bigint, end: bigint): number => Number(end - start) / 1e6;

// ---- the model ----------------------------------------------------------------------------------

/**
 * The library's CausalLM, recording when its first forward since `resetMarks()` returned: in
 * generate() that is the end of the prompt forward, where the decode phase starts. One hrtime call
 * per forward; nothing else changes.
 */
class TimedCausalLM extends CausalLM {
  firstForwardEnd: bigint | undefined;

  resetMarks(): void {
    this.firstForwardEnd = undefined;
  }

  override forward(inputIds: torch.Tensor, options?: ForwardOptions): torch.Tensor {
    const out = super.forward(inputIds, options);
    this.firstForwardEnd ??= nowNs();
    return out;
  }
}

/**
 * Random weights from a seeded generator, in expectedParameters' order: every matrix and the embedding
 * N(0, 0.02), RMSNorm weights 1 + N(0, 0.02), q/k/v biases N(0, 0.02). Saved with saveModel (float32)
 * to `dir` and loaded back from there, so both sides compute with the very bytes on disk.
 */
function makeModel(dir: string): TimedCausalLM {
  saveSmallModel(dir);
  const config = parseModelConfig(modelConfig);
  return new TimedCausalLM(config, loadParameters(dir, config, { dtype: 'float32' }));
}

/** `batch` prompts of `length` random token ids (never the pad id 0), from a seeded generator. */
function randomPrompts(lengths: readonly number[], vocab: number, seed: number): number[][] {
  const generator = new torch.Generator(seed);
  return lengths.map((length) =>
    torch.scope(() => Array.from(torch.randint(3, vocab, [length], { generator }).toArray() as BigInt64Array, Number)),
  );
}

// ---- the TS side's workloads ----------------------------------------------------------------------

/** Milliseconds per forward of the left-padded prompt batch into a fresh KV cache (logits at every position, no sampling). */
function prefill(model: TimedCausalLM, prompts: number[][], reps: number): number {
  const length = Math.max(...prompts.map((p) => p.length));
  const pad = model.config.padTokenId ?? 0;
  const ids = torch.tensor(prompts.map((p) => [...Array<number>(length - p.length).fill(pad), ...p]), { dtype: 'int64' }).keep();
  const mask = torch.tensor(prompts.map((p) => [...Array<number>(length - p.length).fill(0), ...p.map(() => 1)]), { dtype: 'int64' }).keep();
  let totalMs = 0;
  try {
    for (let i = 0; i < reps; i++) {
      const cache = new KVCache(model.config, { batchSize: prompts.length, maxLength: length, dtype: model.dtype });
      const start = nowNs();
      const logits = torch.noGrad(() => model.forward(ids, { attentionMask: mask, cache }));
      totalMs += msBetween(start, nowNs());
      logits.dispose();
      cache.dispose();
    }
  } finally {
    ids.dispose();
    mask.dispose();
  }
  return totalMs / reps;
}

interface GenerateResult {
  total_ms: number;
  /** from the end of the prompt forward to the end of the call */
  decode_ms: number;
  prefill_ms: number;
  tokens?: number[][];
  /** per row, per token: [logprob, entropy, selfCertainty] */
  stats?: number[][][];
}

/** The library's generate(), EOS disabled, timed as a whole and from the end of its prompt forward. */
async function generateTimed(model: TimedCausalLM, prompts: number[][], maxNewTokens: number, temperature: number, seed: number, returnTokens: boolean): Promise<GenerateResult> {
  model.resetMarks();
  const start = nowNs();
  const out = await generate(model, prompts, { maxNewTokens, temperature, seed, eosTokenIds: [] });
  const end = nowNs();
  const prefillEnd = model.firstForwardEnd!;
  const result: GenerateResult = { total_ms: msBetween(start, end), decode_ms: msBetween(prefillEnd, end), prefill_ms: msBetween(start, prefillEnd) };
  if (returnTokens) {
    result.tokens = out.map((s) => s.tokenIds);
    result.stats = out.map((s) => s.tokenIds.map((_, i) => [s.logprobs[i]!, s.entropies[i]!, s.selfCertainties[i]!]));
  }
  return result;
}

// ---- the run ------------------------------------------------------------------------------------

// A full collection on demand, to clean up between turns (outside the timings).
exposeGc();

type Metric = 'prefill' | 'decode' | 'generate';

interface GreedyCheck {
  agree: boolean;
  tokens: number;
  mismatches: number;
  firstMismatch: { row: number; position: number; intuitor: number; python: number } | null;
  maxStatDiff: number;
}

/** Compares two sides' tokens (exactly) and per-token statistics (max absolute difference). */
function compareRuns(a: GenerateResult, b: GenerateResult): GreedyCheck {
  let tokens = 0;
  let mismatches = 0;
  let firstMismatch: GreedyCheck['firstMismatch'] = null;
  let maxStatDiff = 0;
  a.tokens!.forEach((row, r) => {
    const other = b.tokens![r] ?? [];
    const n = Math.max(row.length, other.length);
    for (let i = 0; i < n; i++) {
      tokens++;
      if (row[i] !== other[i]) {
        mismatches++;
        firstMismatch ??= { row: r, position: i, intuitor: row[i] ?? -1, python: other[i] ?? -1 };
      } else if (firstMismatch === null) {
        // statistics compare only while the two sequences are still identical
        for (let k = 0; k < 3; k++) maxStatDiff = Math.max(maxStatDiff, Math.abs(a.stats![r]![i]![k]! - b.stats![r]![i]![k]!));
      }
    }
  });
  return { agree: mismatches === 0, tokens, mismatches, firstMismatch, maxStatDiff };
}

async function main(): Promise<void> {
  const info = torch.runtimeInfo();
  // Importing the engine has already settled OPENBLAS_CORETYPE and OMP_WAIT_POLICY in process.env
  // (src/torch/blas-env.ts); the child inherits exactly that environment.
  const env: NodeJS.ProcessEnv = { ...process.env };
  progress(`${intuitorLine(info, settings.threads, env)}; ${rounds} rounds`);
  ensurePythonTorch(); // before the model is built, so that a missing baseline fails (or is installed) first

  const dir = mkdtempSync(join(tmpdir(), 'intuitor-bench-generate-'));
  const modelDir = join(dir, 'qwen2-bench');
  let model: TimedCausalLM | undefined;
  let py: PythonSide | undefined;
  const samples: Record<Metric, Sample[]> = { prefill: [], decode: [], generate: [] };
  const ms: Record<Metric, Sample[]> = { prefill: [], decode: [], generate: [] };
  const sampledAgreement: number[] = [];
  let pyInfo: PythonInfo & { python: string };
  let greedy: GreedyCheck;
  try {
    const madeAt = nowNs();
    model = makeModel(modelDir);
    const vocab = model.config.vocabSize;
    progress(`model: qwen2-shaped, ${model.parameters().reduce((n, p) => n + p.numel, 0).toLocaleString('en')} parameters, saved to ${modelDir} and loaded back in ${msBetween(madeAt, nowNs()).toFixed(0)} ms`);

    py = new PythonSide('generate.py', settings, env, 200);
    pyInfo = await py.call({ cmd: 'info', envNames: engineEnvNames });
    checkPythonInfo(pyInfo, settings.threads, env, info.blasCore);
    await py.call({ cmd: 'load', dir: modelDir, pad_id: model.config.padTokenId ?? 0 });

    // 1. Same computation: greedy decoding of left-padded prompts of different lengths.
    const g = settings.greedy;
    const greedyPrompts = randomPrompts(g.promptLengths, vocab, settings.promptSeed + 1);
    const tsGreedy = await generateTimed(model, greedyPrompts, g.maxNewTokens, 0, 0, true);
    const pyGreedy = await py.call<GenerateResult>({ cmd: 'generate', prompts: greedyPrompts, max_new_tokens: g.maxNewTokens, temperature: 0, seed: 0, return_tokens: true });
    greedy = compareRuns(tsGreedy, pyGreedy);
    const distinct = new Set(tsGreedy.tokens!.flat()).size;
    progress(
      `greedy check: ${greedy.tokens} tokens (${distinct} distinct), ${greedy.agree ? 'identical on both sides' : `${greedy.mismatches} DIFFER`}; ` +
        `max |stat difference| ${greedy.maxStatDiff.toExponential(2)} (logprob, entropy, self-certainty)`,
    );
    if (!greedy.agree) {
      const m = greedy.firstMismatch!;
      throw new Error(`greedy outputs differ: first at row ${m.row}, token ${m.position}: intuitor ${m.intuitor}, python ${m.python}; the two sides do not compute the same thing`);
    }
    if (!(greedy.maxStatDiff <= g.statTolerance)) throw new Error(`greedy per-token statistics differ by ${greedy.maxStatDiff} (tolerance ${g.statTolerance})`);

    // 2. Timings.
    const p = settings.prefill;
    const d = settings.decode;
    const prefillPrompts = randomPrompts(Array<number>(p.batch).fill(p.promptLength), vocab, settings.promptSeed);
    const decodePrompts = prefillPrompts.slice(0, d.batch).map((x) => x.slice(0, d.promptLength));
    const side = py;
    const tsModel = model;

    const round = async (r: number, record: boolean): Promise<void> => {
      const tsFirst = r % 2 === 0;
      const reps = record ? p.reps : 1;
      const [tsPrefill, pyPrefill] = await both(
        tsFirst,
        () => prefill(tsModel, prefillPrompts, reps),
        () => side.call<{ ms_per_forward: number }>({ cmd: 'prefill', prompts: prefillPrompts, reps }),
        true, // settle before each pair
      );
      const seed = d.seed + r;
      const [tsGen, pyGen] = await both(
        tsFirst,
        () => generateTimed(tsModel, decodePrompts, d.maxNewTokens, d.temperature, seed, true),
        () => side.call<GenerateResult>({ cmd: 'generate', prompts: decodePrompts, max_new_tokens: d.maxNewTokens, temperature: d.temperature, seed, return_tokens: true }),
        true,
      );
      const prefillTokens = p.batch * p.promptLength;
      const newTokens = d.batch * d.maxNewTokens;
      const row: Record<Metric, Sample> = {
        prefill: { intuitor: prefillTokens / (tsPrefill / 1e3), python: prefillTokens / (pyPrefill.ms_per_forward / 1e3) },
        decode: { intuitor: newTokens / (tsGen.decode_ms / 1e3), python: newTokens / (pyGen.decode_ms / 1e3) },
        generate: { intuitor: newTokens / (tsGen.total_ms / 1e3), python: newTokens / (pyGen.total_ms / 1e3) },
      };
      // Same seed, same multinomial on both sides: the sampled tokens match while the probabilities do.
      const agreement = compareRuns(tsGen, pyGen);
      if (record) {
        for (const k of Object.keys(row) as Metric[]) samples[k].push(row[k]);
        ms.prefill.push({ intuitor: tsPrefill, python: pyPrefill.ms_per_forward });
        ms.decode.push({ intuitor: tsGen.decode_ms, python: pyGen.decode_ms });
        ms.generate.push({ intuitor: tsGen.total_ms, python: pyGen.total_ms });
        sampledAgreement.push((agreement.tokens - agreement.mismatches) / agreement.tokens);
      }
      progress(
        `${record ? `round ${r + 1}/${rounds}` : 'warm-up  '}: prefill ${fmt(row.prefill.intuitor, 0)} vs ${fmt(row.prefill.python, 0)} tokens/s, ` +
          `decode ${fmt(row.decode.intuitor, 0)} vs ${fmt(row.decode.python, 0)} tokens/s (${fmt(tsGen.decode_ms / d.maxNewTokens, 2)} vs ${fmt(pyGen.decode_ms / d.maxNewTokens, 2)} ms/token step), ` +
          `sampled tokens identical ${agreement.tokens - agreement.mismatches}/${agreement.tokens}`,
      );
    };

    await round(1, false);
    for (let r = 0; r < rounds; r++) await round(r, true);
  } finally {
    await py?.close();
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  report(info, pyInfo, samples, ms, greedy, sampledAgreement);
}

function report(
  info: torch.RuntimeInfo,
  pyInfo: { torch: string; python: string; blasCore: string },
  samples: Record<Metric, Sample[]>,
  ms: Record<Metric, Sample[]>,
  greedy: GreedyCheck,
  sampledAgreement: number[],
): void {
  const metrics = Object.keys(samples) as Metric[];
  const medians = (from: Record<Metric, Sample[]>, s: keyof Sample): Record<string, number> => sideMedians(from, s);
  const intuitor = medians(samples, 'intuitor');
  const python = medians(samples, 'python');
  // The ratio of each round's pair (measured back to back, so sharing the machine's state), then the
  // median over rounds: intuitor's tokens/s over Python's, above 1 = intuitor faster.
  const ratios = Object.fromEntries(metrics.map((k) => [k, median(samples[k].map((x) => x.intuitor / x.python))]));
  const ratioOfMedians = Object.fromEntries(metrics.map((k) => [k, intuitor[k]! / python[k]!]));
  const p = settings.prefill;
  const d = settings.decode;
  const labels: Record<Metric, [string, string]> = {
    prefill: [`prefill, ${p.batch} x ${p.promptLength} prompt tokens, one forward (tokens/s)`, `ratio >= ${targetRatio}`],
    decode: [`decode, ${d.batch} x ${d.maxNewTokens} sampled tokens (tokens/s)`, `ratio >= ${targetRatio}`],
    generate: [`generate() end to end, prefill + decode (tokens/s)`, ''],
  };
  const rows = metrics.map((k) => [labels[k][0], fmt(intuitor[k], 0), fmt(python[k], 0), fmt(ratios[k], 2), labels[k][1]]);
  const c = modelConfig;
  const msIntuitor = medians(ms, 'intuitor');
  const msPython = medians(ms, 'python');
  console.log(
    `\nintuitor (Node ${process.version}) vs plain PyTorch ${pyInfo.torch} (Python ${pyInfo.python}), same libtorch ${info.torchVersion}; ${settings.threads} threads, ` +
      `OpenBLAS core ${info.blasCore || '(none)'}, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? 'unset'}\n` +
      `model: qwen2, vocab ${c.vocab_size}, hidden ${c.hidden_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads / ${c.num_key_value_heads} kv heads, ` +
      `SwiGLU ${c.intermediate_size}, tied embeddings, q/k/v biases, rope theta ${c.rope_theta}; random weights (seed ${settings.model.seed}), float32\n` +
      `greedy check (${greedy.tokens} tokens, left-padded prompts): tokens ${greedy.agree ? 'IDENTICAL' : 'DIFFER'}, max |logprob/entropy/self-certainty difference| ${greedy.maxStatDiff.toExponential(2)}\n` +
      `sampled tokens identical on both sides (same seed): median ${(median(sampledAgreement) * 100).toFixed(1)}% of ${d.batch * d.maxNewTokens}\n` +
      `medians of ${rounds} interleaved rounds; ratio = median over rounds of intuitor tokens/s / python tokens/s (above 1: intuitor faster)\n` +
      `ms: prefill ${fmt(msIntuitor.prefill, 1)} vs ${fmt(msPython.prefill, 1)}, decode ${fmt(msIntuitor.decode, 1)} vs ${fmt(msPython.decode, 1)} ` +
      `(${fmt(msIntuitor.decode! / d.maxNewTokens, 2)} vs ${fmt(msPython.decode! / d.maxNewTokens, 2)} per step), generate() ${fmt(msIntuitor.generate, 1)} vs ${fmt(msPython.generate, 1)}\n`,
  );
  printTable(['workload', 'intuitor', 'python', 'ratio', 'target'], rows);
  console.log('');
  const met = { prefill: ratios.prefill! >= targetRatio, decode: ratios.decode! >= targetRatio };
  console.log(
    JSON.stringify({
      ratios,
      ratioOfMedians,
      intuitor,
      python,
      units: { prefill: 'tokens/s', decode: 'tokens/s', generate: 'tokens/s' },
      ms: { intuitor: msIntuitor, python: msPython },
      targets: { ratio: targetRatio, met },
      greedy,
      sampledAgreement,
      env: envReport(info, pyInfo, settings.threads),
      model: modelConfig,
      settings,
      raw: samples,
      rawMs: ms,
    }),
  );
}

await main();
