// Benchmarks intuitor's tensor engine against PyTorch (Python) on the same libtorch, in one run.
//
//   npm run bench:engine            (or: node --import tsx bench/engine.ts [--rounds N] [--quick])
//
// Spawns `/usr/bin/python3 bench/engine.py` with the same settings, thread count and OpenBLAS
// environment, and interleaves the two sides round by round (alternating which goes first), so
// that a noisy, shared machine slows both alike; each number is the median over the rounds, after
// a warm-up round. Prints a table, then one line that is a JSON object with the ratios and raw numbers.
// See bench/README.md.

import * as torch from '../src/torch/index.ts';
import { both, checkPythonInfo, elapsedNs, envReport, exposeGc, fmt, intuitorLine, median, nowNs, parseRounds, printTable, progress, PythonSide, quick, sideMedians, engineEnvNames, type PythonInfo, type Sample } from './harness.ts';

// ---- settings ---------------------------------------------------------------------------------

const rounds = parseRounds(3, 11);

const settings = {
  threads: torch.getNumThreads(),
  rounds,
  overhead: { iters: quick ? 20_000 : 50_000 }, // a multiple of overheadChunk
  matmul: { sizes: [1024, 2048], reps: { 1024: quick ? 3 : 6, 2048: quick ? 1 : 2 } as Record<number, number> },
  train: { B: 8, T: 128, d: 256, heads: 4, mlp: 1024, vocab: 256, eps: 1e-6, lr: 1e-3, seed: 1234, warmupSteps: 2, steps: quick ? 2 : 5 },
};
type TrainSettings = typeof settings.train;

const targets = { overheadUs: 2.5, trainRatio: 1.1 };

// ---- 1. per-op overhead -------------------------------------------------------------------------

const overheadA = torch.randn([4]).keep();
const overheadB = torch.randn([4]).keep();

// Ops run in chunks with one event-loop turn between them, as the project's loops run: a tensor handle's
// finaliser (which frees its small native box once V8 has collected the handle) runs on a later turn,
// so a purely synchronous loop would leave part of each op's cost to whatever runs next.
const overheadChunk = 1000;

/** Microseconds per `a.add(b)` on 4-element float32 tensors, each result disposed at once. */
async function overheadDisposed(iters: number): Promise<number> {
  const a = overheadA;
  const b = overheadB;
  const start = nowNs();
  for (let done = 0; done < iters; done += overheadChunk) {
    for (let i = 0; i < overheadChunk; i++) a.add(b).dispose();
    await new Promise(setImmediate);
  }
  return elapsedNs(start) / iters / 1e3;
}

/** The same, with one torch.scope per op disposing the result. */
async function overheadScoped(iters: number): Promise<number> {
  const a = overheadA;
  const b = overheadB;
  const start = nowNs();
  for (let done = 0; done < iters; done += overheadChunk) {
    for (let i = 0; i < overheadChunk; i++) {
      torch.scope(() => {
        a.add(b);
      });
    }
    await new Promise(setImmediate);
  }
  return elapsedNs(start) / iters / 1e3;
}

// ---- 2. matmul ----------------------------------------------------------------------------------

const matmulInputs = new Map<number, [torch.Tensor, torch.Tensor]>();

function matmul(n: number, reps: number): { msPerMatmul: number; gflops: number } {
  let inputs = matmulInputs.get(n);
  if (inputs === undefined) {
    inputs = [torch.randn([n, n]).keep(), torch.randn([n, n]).keep()];
    matmulInputs.set(n, inputs);
  }
  const [a, b] = inputs;
  const start = nowNs();
  for (let i = 0; i < reps; i++) a.matmul(b).dispose();
  const seconds = elapsedNs(start) / reps / 1e9;
  return { msPerMatmul: seconds * 1e3, gflops: (2 * n ** 3) / seconds / 1e9 };
}

// ---- 3. one training step of a transformer block --------------------------------------------------

interface Block {
  norm1: torch.Tensor;
  wq: torch.Tensor;
  wk: torch.Tensor;
  wv: torch.Tensor;
  wo: torch.Tensor;
  norm2: torch.Tensor;
  wGate: torch.Tensor;
  wUp: torch.Tensor;
  wDown: torch.Tensor;
  head: torch.Tensor;
  x: torch.Tensor;
  targets: torch.Tensor;
}

/** Parameters in the same order, shapes and scales as engine.py's Block (same seed, so the same values). */
function makeBlock(s: TrainSettings): Block {
  torch.manualSeed(s.seed);
  const weight = (outFeatures: number, inFeatures: number): torch.Tensor =>
    torch.randn([outFeatures, inFeatures]).mul_(inFeatures ** -0.5).requiresGrad_().keep();
  const norm1 = torch.ones([s.d]).requiresGrad_().keep();
  const wq = weight(s.d, s.d);
  const wk = weight(s.d, s.d);
  const wv = weight(s.d, s.d);
  const wo = weight(s.d, s.d);
  const norm2 = torch.ones([s.d]).requiresGrad_().keep();
  const wGate = weight(s.mlp, s.d);
  const wUp = weight(s.mlp, s.d);
  const wDown = weight(s.d, s.mlp);
  const head = weight(s.vocab, s.d);
  const x = torch.randn([s.B, s.T, s.d]).keep();
  const targets = torch.randint(0, s.vocab, [s.B * s.T]).keep();
  return { norm1, wq, wk, wv, wo, norm2, wGate, wUp, wDown, head, x, targets };
}

const parameters = (m: Block): torch.Tensor[] => [m.norm1, m.wq, m.wk, m.wv, m.wo, m.norm2, m.wGate, m.wUp, m.wDown, m.head];

/** Pre-norm block: RMSNorm, causal attention, residual; RMSNorm, SwiGLU MLP, residual; cross entropy over a projection. */
function forward(m: Block, s: TrainSettings): torch.Tensor {
  const { B, T, d, heads } = s;
  const hd = d / heads;
  const h = torch.rmsNorm(m.x, m.norm1, s.eps);
  const q = torch.linear(h, m.wq).view(B, T, heads, hd).transpose(1, 2);
  const k = torch.linear(h, m.wk).view(B, T, heads, hd).transpose(1, 2);
  const v = torch.linear(h, m.wv).view(B, T, heads, hd).transpose(1, 2);
  const a = torch.scaledDotProductAttention(q, k, v, { isCausal: true }).transpose(1, 2).reshape(B, T, d);
  const x1 = m.x.add(torch.linear(a, m.wo));
  const h2 = torch.rmsNorm(x1, m.norm2, s.eps);
  const mlp = torch.linear(torch.linear(h2, m.wGate).silu().mul(torch.linear(h2, m.wUp)), m.wDown);
  const x2 = x1.add(mlp);
  const logits = torch.linear(x2, m.head).view(B * T, s.vocab);
  return torch.crossEntropy(logits, m.targets);
}

/**
 * A fresh block and optimizer (same seed as engine.py), one untimed step (it creates AdamW's state), then
 * `steps` timed steps in milliseconds per step. Each step runs in its own scope and yields one event-loop
 * turn, as the project's training loops do. Starting afresh each time keeps every round in the same
 * regime (a block trained on to a near-zero loss would drift towards tiny, denormal-prone values).
 */
async function train(steps: number): Promise<{ msPerStep: number; losses: number[] }> {
  const s = settings.train;
  const block = makeBlock(s);
  const opt = new torch.AdamW(parameters(block), { lr: s.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  const step = (): number =>
    torch.scope(() => {
      const loss = forward(block, s);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });
  try {
    const losses = [step()];
    await new Promise(setImmediate);
    const start = nowNs();
    for (let i = 0; i < steps; i++) {
      losses.push(step());
      await new Promise(setImmediate);
    }
    return { msPerStep: elapsedNs(start) / steps / 1e6, losses };
  } finally {
    opt.dispose();
    for (const t of Object.values(block)) t.dispose();
  }
}

// ---- the run ------------------------------------------------------------------------------------

// A full collection on demand, to clean up between workloads (outside the timings).
exposeGc();

/** One value per round and side, in microseconds (add), GFLOP/s (matmul) or milliseconds (train). */
type Metric = 'add' | 'addScope' | 'matmul1024' | 'matmul2048' | 'trainStep';
/** Whether a bigger value is better (then the time ratio is python / intuitor). */
const higherIsBetter = (metric: string): boolean => metric.startsWith('matmul');
const timeRatio = (metric: string, x: Sample): number => (higherIsBetter(metric) ? x.python / x.intuitor : x.intuitor / x.python);

async function main(): Promise<void> {
  const info = torch.runtimeInfo();
  // Importing the engine has already settled OPENBLAS_CORETYPE and OMP_WAIT_POLICY in process.env
  // (src/torch/blas-env.ts); the child inherits exactly that environment, so both sides load
  // OpenBLAS and OpenMP with the same kernels and wait policy.
  const env: NodeJS.ProcessEnv = { ...process.env };
  progress(`${intuitorLine(info, settings.threads, env)}; ${rounds} rounds`);
  const py = new PythonSide('engine.py', settings, env);
  const samples: Record<Metric, Sample[]> = { add: [], addScope: [], matmul1024: [], matmul2048: [], trainStep: [] };
  const losses: { intuitor: number[]; python: number[] } = { intuitor: [], python: [] };
  let pyInfo: PythonInfo;
  try {
    pyInfo = await py.call({ cmd: 'info', envNames: engineEnvNames });
    checkPythonInfo(pyInfo, settings.threads, env, info.blasCore);

    // One round: every workload on both sides; which side goes first alternates from round to round.
    const round = async (r: number, record: boolean): Promise<void> => {
      const tsFirst = r % 2 === 0;
      const iters = settings.overhead.iters;
      const [[disposed, scoped], pyAdd] = await both(
        tsFirst,
        async () => [await overheadDisposed(iters), await overheadScoped(iters)] as const,
        () => py.call<{ us_per_op: number }>({ cmd: 'overhead', iters }),
      );
      const row: Partial<Record<Metric, Sample>> = {
        add: { intuitor: disposed, python: pyAdd.us_per_op },
        addScope: { intuitor: scoped, python: pyAdd.us_per_op },
      };
      for (const n of settings.matmul.sizes) {
        const reps = record ? settings.matmul.reps[n]! : 1;
        const [tsOut, pyOut] = await both(
          tsFirst,
          () => matmul(n, reps),
          () => py.call<{ gflops: number }>({ cmd: 'matmul', n, reps }),
        );
        row[`matmul${n}` as Metric] = { intuitor: tsOut.gflops, python: pyOut.gflops };
      }
      const steps = record ? settings.train.steps : settings.train.warmupSteps;
      const [tsTrain, pyTrain] = await both(
        tsFirst,
        () => train(steps),
        () => py.call<{ ms_per_step: number; losses: number[] }>({ cmd: 'train', steps }),
      );
      row.trainStep = { intuitor: tsTrain.msPerStep, python: pyTrain.ms_per_step };
      losses.intuitor = tsTrain.losses;
      losses.python = pyTrain.losses;
      if (record) for (const [k, v] of Object.entries(row)) samples[k as Metric].push(v);
      const a = row.add!;
      const t = row.trainStep;
      progress(
        `${record ? `round ${r + 1}/${rounds}` : 'warm-up  '}: add ${fmt(a.intuitor, 2)} vs ${fmt(a.python, 2)} us, ` +
          settings.matmul.sizes.map((n) => `matmul${n} ${fmt(row[`matmul${n}` as Metric]!.intuitor, 0)} vs ${fmt(row[`matmul${n}` as Metric]!.python, 0)} GFLOP/s, `).join('') +
          `train ${fmt(t.intuitor, 1)} vs ${fmt(t.python, 1)} ms/step`,
      );
    };

    await round(1, false);
    for (let r = 0; r < rounds; r++) await round(r, true);
  } finally {
    await py.close();
    for (const t of [overheadA, overheadB, ...[...matmulInputs.values()].flat()]) t.dispose();
  }
  report(info, pyInfo, samples, losses);
}

function report(
  info: torch.RuntimeInfo,
  pyInfo: { torch: string; blasCore: string },
  samples: Record<Metric, Sample[]>,
  losses: { intuitor: number[]; python: number[] },
): void {
  const metrics = Object.keys(samples) as Metric[];
  const intuitor: Record<string, number> = sideMedians(samples, 'intuitor');
  const python: Record<string, number> = sideMedians(samples, 'python');
  // The ratio of each round's pair (measured back to back, so sharing the machine's state), then the
  // median over rounds: intuitor's time over Python's for the same work, above 1 = intuitor slower.
  const ratios = Object.fromEntries(metrics.map((k) => [k, median(samples[k].map((x) => timeRatio(k, x)))]));
  const ratioOfMedians = Object.fromEntries(metrics.map((k) => [k, timeRatio(k, { intuitor: intuitor[k]!, python: python[k]! })]));
  const lossDiff = Math.max(...losses.intuitor.map((l, i) => Math.abs(l - (losses.python[i] ?? NaN)) / Math.max(1e-6, Math.abs(l))));
  const lossesAgree = losses.intuitor.length === losses.python.length && lossDiff <= 1e-4;

  const labels: Record<Metric, [string, number, string]> = {
    add: ['add, 2 x [4] float32, result disposed (us/op)', 2, `<= ${targets.overheadUs} us`],
    addScope: ['add, 2 x [4] float32, one scope per op (us/op)', 2, ''],
    matmul1024: ['matmul 1024x1024 float32 (GFLOP/s)', 1, ''],
    matmul2048: ['matmul 2048x2048 float32 (GFLOP/s)', 1, ''],
    trainStep: ['train step, transformer block (ms/step)', 1, `ratio <= ${targets.trainRatio}`],
  };
  const rows = metrics.map((k) => {
    const [label, digits, target] = labels[k];
    return [label, fmt(intuitor[k], digits), fmt(python[k], digits), fmt(ratios[k], 2), target];
  });
  const s = settings.train;
  console.log(
    `\nintuitor (Node ${process.version}) vs PyTorch ${pyInfo.torch} (Python), same libtorch ${info.torchVersion}; ${settings.threads} threads, ` +
      `OpenBLAS core ${info.blasCore || '(none)'}, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? 'unset'}\n` +
      `medians of ${rounds} interleaved rounds; ratio = median over rounds of intuitor time / python time (above 1: intuitor slower)\n` +
      `train step: B=${s.B} T=${s.T} d=${s.d} heads=${s.heads} SwiGLU ${s.mlp} vocab=${s.vocab}, causal SDPA, cross entropy, AdamW lr ${s.lr}; ` +
      `losses ${lossesAgree ? 'agree' : 'DIFFER'} (${losses.intuitor.map((l) => l.toFixed(4)).join(', ')})\n`,
  );
  printTable(['workload', 'intuitor', 'python', 'ratio', 'target'], rows);
  console.log('');
  const met = { add: intuitor.add! <= targets.overheadUs, trainStep: ratios.trainStep! <= targets.trainRatio };
  console.log(
    JSON.stringify({
      ratios,
      ratioOfMedians,
      intuitor,
      python,
      units: { add: 'us/op', addScope: 'us/op', matmul1024: 'GFLOP/s', matmul2048: 'GFLOP/s', trainStep: 'ms/step' },
      targets: { addUs: targets.overheadUs, trainRatio: targets.trainRatio, met },
      losses: { ...losses, agree: lossesAgree },
      env: envReport(info, pyInfo, settings.threads),
      settings,
      raw: samples,
    }),
  );
}

await main();
