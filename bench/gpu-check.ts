// Checks intuitor's CUDA path on one GPU against its own CPU path, and measures it against plain
// PyTorch on the same GPU:
//
//   node --import tsx bench/gpu-check.ts [--device cuda|cuda:N|cpu] [--rounds N] [--quick]
//
//   (a) runtime: libtorch version, CUDA, devices, GPU name, TF32, distributed backends, Python torch
//   (b) bench/small-model.ts's model built on the CPU and copied to the device: logits of a left-padded
//       batch, greedy generate(), per-token statistics, device against CPU
//   (c) one forward+backward of bench/train.ts's batch (completionLogprobs + policyLoss), then one AdamW
//       step, device against CPU; a bfloat16 forward on the device
//   (d) a process group of one (NCCL on CUDA, Gloo on the CPU): allReduce, broadcast, allGather, barrier
//   (e) two GRPO steps of the real trainer on the device through the data-parallel path
//   (f) speed: intuitor / Python time ratios on the device (bench/gpu-speed.ts)
//
// `--device cpu` runs the same checks CPU against CPU (the differences are then 0), so the script can be
// tried on a machine without a GPU. Prints a table (each check with its tolerance) and one JSON line;
// exits with 1 if any check fails. Python is the first of INTUITOR_PYTHON, /usr/bin/python3, python3
// whose torch imports (and sees a GPU for a CUDA device); the bench/*.py scripts are found as
// harness.ts's benchDir() says (INTUITOR_BENCH_DIR for a bundle placed elsewhere).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.ts';
import { initProcessGroup, availableBackends, freeLoopbackPort as freePort, type ProcessGroup } from '../src/torch/distributed.ts';
import { CausalLM } from '../src/model/causal-lm.ts';
import { loadModel } from '../src/model/load.ts';
import { generate, type GeneratedSequence } from '../src/generate/generate.ts';
import { tokenStatistics } from '../src/certainty/token-statistics.ts';
import { Tokenizer } from '../src/tokenizer/index.ts';
import { arithQaItems } from '../src/data/arith.ts';
import { resolveGrpoConfig } from '../src/rl/config.ts';
import { train } from '../src/rl/trainer.ts';
import { latestCheckpoint } from '../src/rl/checkpoint.ts';
import { processGroupParallel, singleProcess } from '../src/rl/data-parallel.ts';
import { describeProbes, exposeGc, findPython, fmt, parseDevice, parseRounds, printTable, progress, quick } from './harness.ts';
import { saveSmallModel, writeSmallModelTokenizer } from './small-model.ts';
import { fixedBatch, fwdbwdBatch, tsFwdBwd } from './fwdbwd.ts';
import { compareSpeed, randomPrompts, type SpeedResult } from './gpu-speed.ts';

const device = parseDevice('cuda');
const rounds = parseRounds(2, 5);
const tol = { logits: 1e-4, stats: 1e-4, lossRel: 1e-4, gradNormRel: 1e-3, adamParams: 1e-5, pythonLossRel: 1e-4, pythonGradNormRel: 1e-3 };
const settings = {
  device,
  threads: torch.getNumThreads(),
  tolerances: tol,
  /** left-padded to the longest */
  promptLengths: [24, 17, 9, 3],
  promptSeed: 5,
  greedyTokens: 16,
  adamw: { lr: 1e-3, weightDecay: 0.01 },
  grpo: { steps: 2, promptsPerStep: 4, numGenerations: 4, microBatchSize: 16, maxCompletionLength: 64, beta: 0, learningRate: 1e-5, warmupRatio: 0, seed: 1, system: '', instruction: '', logCompletions: 0, reward: 'self-certainty' },
  speed: { rounds, fwdbwdReps: quick ? 1 : 3, greedyTokens: 32, decode: { batch: 8, promptLength: 64, maxNewTokens: 128, temperature: 1, seed: 1000, promptSeed: 7 } },
};

// ---- the table ----------------------------------------------------------------------------------

type Status = 'ok' | 'FAIL' | 'skip' | 'info';
interface Row {
  part: string;
  check: string;
  status: Status;
  value: string;
  tolerance: string;
  data?: unknown;
}
const rows: Row[] = [];
const note = (part: string, check: string, value: string, data?: unknown) => rows.push({ part, check, status: 'info', value, tolerance: '', data });
const skip = (part: string, check: string, why: string) => rows.push({ part, check, status: 'skip', value: why, tolerance: '' });
/** A measured check: ok when `ok`, with the value shown and the tolerance it was held to. */
const expect = (part: string, check: string, ok: boolean, value: string, tolerance: string, data?: unknown) => rows.push({ part, check, status: ok ? 'ok' : 'FAIL', value, tolerance, data });
const exp = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

/** Runs one part; an exception becomes a failed row, so the other parts still run. */
async function part(id: string, name: string, fn: () => unknown): Promise<void> {
  progress(`(${id}) ${name}`);
  try {
    await fn();
  } catch (e) {
    expect(id, `${name}: error`, false, (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160), 'no error', String(e));
  }
}

// ---- helpers --------------------------------------------------------------------------------------

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** max |a - b| over the rows where mask is 1: a, b [B, T, ...] on any devices, mask [B, T]. */
function maskedMaxAbs(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor): number {
  return torch.scope(() => {
    let d = a.to('cpu').float().sub(b.to('cpu').float()).abs();
    while (d.ndim > 2) d = d.amax(-1);
    return d.mul(mask.to('cpu').float()).max().item();
  });
}

/** max |a - b| over two lists of parameters (the second may live on another device). */
const paramsMaxAbs = (a: readonly torch.Tensor[], b: readonly torch.Tensor[]): number =>
  torch.scope(() => Math.max(...a.map((p, i) => p.detach().sub(b[i]!.detach().to(p.device)).abs().max().item())));

function leftPadded(prompts: number[][], padId: number, on: string): { ids: torch.Tensor; mask: torch.Tensor } {
  const length = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array<number>(length - p.length).fill(padId), ...p]);
  const mask = prompts.map((p) => [...Array<number>(length - p.length).fill(0), ...p.map(() => 1)]);
  return { ids: torch.tensor(ids, { dtype: 'int64', device: on }), mask: torch.tensor(mask, { dtype: 'int64', device: on }) };
}

/** Greedy runs of two models: mismatching tokens, and the largest statistic difference while the tokens agree. */
function compareGenerations(a: GeneratedSequence[], b: GeneratedSequence[]): { tokens: number; mismatches: number; maxStatDiff: number } {
  let tokens = 0;
  let mismatches = 0;
  let maxStatDiff = 0;
  a.forEach((s, r) => {
    const o = b[r]!;
    for (let i = 0; i < Math.max(s.tokenIds.length, o.tokenIds.length); i++) {
      tokens++;
      if (s.tokenIds[i] !== o.tokenIds[i]) mismatches++;
      else maxStatDiff = Math.max(maxStatDiff, Math.abs(s.logprobs[i]! - o.logprobs[i]!), Math.abs(s.entropies[i]! - o.entropies[i]!), Math.abs(s.selfCertainties[i]! - o.selfCertainties[i]!));
    }
  });
  return { tokens, mismatches, maxStatDiff };
}

/** Every number in a metrics record (nested), by path; undefined values (accuracy without labels) are left out. */
function numbersOf(value: unknown, path: string, out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') out.push([path, value]);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) if (k !== 'samples') numbersOf(v, path ? `${path}.${k}` : k, out);
  return out;
}


/** The GPUs nvidia-smi lists ('' without nvidia-smi). */
function nvidiaSmi(): string {
  const run = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
  return run.status === 0 ? run.stdout.trim().split('\n').join('; ') : '';
}

// ---- the run ------------------------------------------------------------------------------------

exposeGc();

async function main(): Promise<void> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env };
  const info = torch.runtimeInfo();
  const deviceIndex = device === 'cpu' ? -1 : device === 'cuda' ? 0 : Number(device.slice(5));
  const usable = device === 'cpu' || (info.cuda && info.cudaDevices > deviceIndex);
  const found = findPython(device !== 'cpu');
  const backends = availableBackends();
  const backend = device === 'cpu' ? 'gloo' : 'nccl';
  let speed: SpeedResult | undefined;

  // (a) Runtime.
  note('a', 'libtorch', `${info.torchVersion}, ${info.numThreads} CPU threads`, { torchVersion: info.torchVersion, cxx11Abi: (info as unknown as { cxx11Abi?: number }).cxx11Abi });
  const cudaLine = `available ${info.cuda}, ${info.cudaDevices} device(s)`;
  if (device === 'cpu') note('a', 'CUDA', cudaLine);
  else expect('a', `CUDA (${device} wanted)`, usable, cudaLine, `device ${deviceIndex} visible`);
  const smi = nvidiaSmi();
  note('a', 'GPU', smi || found.probes.find((p) => p.deviceName)?.deviceName || '(none found: no nvidia-smi, no Python CUDA)');
  note('a', 'TF32 matmuls', device === 'cpu' ? 'n/a on the CPU' : "off: the addon has no setting; libtorch's default allowTF32CuBLAS is false (Python side sets allow_tf32 = False)");
  note('a', 'distributed backends', `gloo ${backends.gloo}, nccl ${backends.nccl}`, backends);
  note('a', 'Python torch', found.python ? describeProbes(found.probes.slice(-1)) : `none usable: ${describeProbes(found.probes)}`, found.probes);

  const dir = mkdtempSync(join(tmpdir(), 'intuitor-gpu-check-'));
  const modelDir = join(dir, 'qwen2-bench');
  const cleanup: (() => void)[] = [];
  let group: ProcessGroup | undefined;
  try {
    if (!usable) {
      for (const p of ['b', 'c', 'd', 'e', 'f']) skip(p, 'all', `device ${device} is not available`);
      return;
    }
    saveSmallModel(modelDir);
    writeSmallModelTokenizer(modelDir);
    const cpuModel = loadModel(modelDir, { dtype: 'float32' });
    cleanup.push(() => cpuModel.dispose());
    const config = cpuModel.config;
    const padId = config.padTokenId ?? 0;
    const prompts = randomPrompts(settings.promptLengths, config.vocabSize, settings.promptSeed);

    // (b) Inference: built on the CPU, copied to the device.
    let devLogits: torch.Tensor | undefined;
    await part('b', 'inference', async () => {
      const devModel = new CausalLM(config, new Map([...cpuModel.params].map(([name, p]) => [name, p.to(device)])));
      cleanup.push(() => devModel.dispose());
      const on = devModel.device;
      expect('b', 'parameters copied to the device', device === 'cuda' ? on.startsWith('cuda') : on === device, on, device);
      const cpuIn = leftPadded(prompts, padId, 'cpu');
      const devIn = leftPadded(prompts, padId, device);
      const cpuLogits = torch.noGrad(() => cpuModel.forward(cpuIn.ids, { attentionMask: cpuIn.mask })).keep(); // [B, T, V]
      devLogits = torch.noGrad(() => devModel.forward(devIn.ids, { attentionMask: devIn.mask })).keep();
      cleanup.push(() => cpuLogits.dispose(), () => devLogits!.dispose());
      const logitErr = maskedMaxAbs(devLogits, cpuLogits, cpuIn.mask);
      expect('b', `logits [${cpuLogits.shape}], left-padded, float32`, logitErr <= tol.logits, `max abs err ${exp(logitErr)}`, `<= ${tol.logits} abs`);

      // Per-token statistics (the fused kernel) of those logits, and from hidden states through the LM head with targets.
      const statsErr = torch.scope(() => {
        const vocab = config.vocabSize;
        const flatMask = cpuIn.mask.reshape(-1, 1); // [N, 1]
        const fromLogits = (l: torch.Tensor) => tokenStatistics(l.reshape(-1, vocab));
        const hidden = (m: CausalLM, x: { ids: torch.Tensor; mask: torch.Tensor }) => torch.noGrad(() => m.forward(x.ids, { attentionMask: x.mask, output: 'hidden' })).reshape(-1, config.hiddenSize);
        const fromHidden = (m: CausalLM, x: { ids: torch.Tensor; mask: torch.Tensor }) => tokenStatistics(hidden(m, x), { lmHead: m.lmHeadWeight, targets: x.ids.reshape(-1) });
        const columns = (s: ReturnType<typeof tokenStatistics>) => [s.selfCertainty, s.logsumexp, s.mean, s.entropy!, s.gini!, ...(s.logprob ? [s.logprob] : [])];
        const diff = (a: ReturnType<typeof tokenStatistics>, b: ReturnType<typeof tokenStatistics>) =>
          Math.max(...columns(a).map((c, i) => maskedMaxAbs(c.unsqueeze(1), columns(b)[i]!.unsqueeze(1), flatMask)));
        return { logits: diff(fromLogits(devLogits!), fromLogits(cpuLogits)), hidden: diff(fromHidden(devModel, devIn), fromHidden(cpuModel, cpuIn)) };
      });
      expect('b', 'tokenStatistics of the logits', statsErr.logits <= tol.stats, `max abs err ${exp(statsErr.logits)}`, `<= ${tol.stats} abs`);
      expect('b', 'tokenStatistics, hidden + LM head + targets', statsErr.hidden <= tol.stats, `max abs err ${exp(statsErr.hidden)}`, `<= ${tol.stats} abs`);

      const options = { maxNewTokens: settings.greedyTokens, temperature: 0, eosTokenIds: [] as number[] };
      const greedy = compareGenerations(await generate(devModel, prompts, options), await generate(cpuModel, prompts, options));
      expect('b', `greedy generate(), ${prompts.length} x ${settings.greedyTokens} tokens`, greedy.mismatches === 0, `${greedy.mismatches} of ${greedy.tokens} differ`, 'identical', greedy);
      expect('b', 'generate() per-token statistics', greedy.maxStatDiff <= tol.stats, `max abs err ${exp(greedy.maxStatDiff)}`, `<= ${tol.stats} abs`);
      const sampled = { ...options, temperature: 1, seed: 3 };
      const drawn = compareGenerations(await generate(devModel, prompts, sampled), await generate(cpuModel, prompts, sampled));
      note('b', 'sampled generate(), same seed', `${drawn.tokens - drawn.mismatches} of ${drawn.tokens} tokens identical (draws are on the CPU)`, drawn);
    });

    // (c) Training: forward+backward, AdamW, bfloat16.
    await part('c', 'training', () => {
      const f = { ...fwdbwdBatch };
      const { batch, advantages } = fixedBatch(f, config.vocabSize, padId);
      const cpuTrain = loadModel(modelDir, { dtype: 'float32' });
      const devTrain = loadModel(modelDir, { dtype: 'float32', device });
      cleanup.push(() => cpuTrain.dispose(), () => devTrain.dispose());
      const cpuParams = cpuTrain.parameters();
      const devParams = devTrain.parameters();
      for (const p of [...cpuParams, ...devParams]) p.requiresGrad_(true);
      const a = tsFwdBwd(devTrain, devParams, batch, advantages, f, 1, true, true);
      const b = tsFwdBwd(cpuTrain, cpuParams, batch, advantages, f, 1, true, true);
      const lossRel = relDiff(a.loss, b.loss);
      const logprobRel = relDiff(a.logprob_sum!, b.logprob_sum!);
      const gradRel = relDiff(a.grad_norm!, b.grad_norm!);
      expect('c', 'loss (completionLogprobs + policyLoss)', lossRel <= tol.lossRel, `${a.loss} vs ${b.loss}, rel ${exp(lossRel)}`, `<= ${tol.lossRel} rel`, { device: a, cpu: b });
      expect('c', 'sum of completion log-probs', logprobRel <= tol.lossRel, `${fmt(a.logprob_sum, 4)} vs ${fmt(b.logprob_sum, 4)}, rel ${exp(logprobRel)}`, `<= ${tol.lossRel} rel`);
      expect('c', 'gradient norm after backward', gradRel <= tol.gradNormRel, `${fmt(a.grad_norm, 6)} vs ${fmt(b.grad_norm, 6)}, rel ${exp(gradRel)}`, `<= ${tol.gradNormRel} rel`);
      const optimizers = [new torch.AdamW(devParams, settings.adamw), new torch.AdamW(cpuParams, settings.adamw)];
      for (const o of optimizers) o.step();
      for (const o of optimizers) o.dispose();
      const paramErr = paramsMaxAbs(cpuParams, devParams);
      const moved = paramsMaxAbs(cpuParams, cpuModel.parameters());
      expect('c', `parameters after one AdamW step (lr ${settings.adamw.lr})`, paramErr <= tol.adamParams && moved > 0, `max abs err ${exp(paramErr)} (largest update ${exp(moved)})`, `<= ${tol.adamParams} abs`);

      const bf16 = loadModel(modelDir, { dtype: 'bfloat16', device });
      cleanup.push(() => bf16.dispose());
      const inputs = leftPadded(prompts, padId, device);
      const { finite, err } = torch.scope(() => {
        const logits = torch.noGrad(() => bf16.forward(inputs.ids, { attentionMask: inputs.mask }));
        return { finite: logits.isfinite().float().sum().item() === logits.numel, err: devLogits ? maskedMaxAbs(logits, devLogits, inputs.mask) : NaN };
      });
      expect('c', 'bfloat16 forward on the device', finite, `finite ${finite}; max abs diff from float32 ${exp(err)} (information)`, 'all finite');
    });

    // (d) A process group of one.
    await part('d', `process group (${backend}, world size 1)`, async () => {
      if (!backends[backend]) return skip('d', `${backend} process group`, `this addon was built without ${backend}`);
      const port = await freePort();
      group = initProcessGroup({ backend, rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 60_000 });
      const g = group;
      note('d', 'initProcessGroup', `${g} on 127.0.0.1:${port}`);
      torch.scope(() => {
        const generator = new torch.Generator(9);
        const x = torch.randn([1000], { generator }).to(device);
        const y = torch.randn([3, 5], { generator }).to('float64').to(device);
        const z = torch.randn([257], { generator }).to(device);
        const originals = [x, y, z].map((t) => t.clone());
        const unchanged = () => Math.max(...[x, y, z].map((t, i) => t.sub(originals[i]!).abs().max().item()));
        g.allReduce(x, { op: 'sum' });
        expect('d', 'allReduce sum, one tensor', unchanged() === 0, `max abs change ${exp(unchanged())}`, '== 0');
        g.allReduce([x, y, z], { op: 'avg', bucketBytes: 1024 });
        expect('d', 'allReduce avg, 3 tensors, 1 KiB buckets', unchanged() === 0 && x.device === originals[0]!.device, `max abs change ${exp(unchanged())}, on ${x.device}`, '== 0');
        g.broadcast([x, y], 0);
        expect('d', 'broadcast from rank 0', unchanged() === 0, `max abs change ${exp(unchanged())}`, '== 0');
        const gathered = g.allGather(x);
        const same = gathered.length === 1 && gathered[0]!.sub(x).abs().max().item() === 0;
        expect('d', 'allGather', same, `${gathered.length} tensor(s), [${gathered[0]?.shape}] on ${gathered[0]?.device}`, '1 tensor, equal');
      });
      g.barrier();
      expect('d', 'barrier', true, 'returned', 'returns');
    });

    // (e) Two GRPO steps through the data-parallel path.
    await part('e', 'GRPO training steps', async () => {
      const parallel = group ? processGroupParallel(group, device) : singleProcess;
      if (!group) note('e', 'data-parallel path', `no ${backend} group (see d): the trainer runs single-process`);
      const runDir = join(dir, 'run');
      const g = settings.grpo;
      const tokenizer = await Tokenizer.fromDir(modelDir);
      const items = arithQaItems({ split: 'train', count: g.steps * g.promptsPerStep, levels: [1], seed: g.seed });
      const { steps, ...rest } = g;
      const grpoConfig = resolveGrpoConfig({ model: modelDir, output: runDir, steps, saveSteps: 1000, ...rest, device });
      const t0 = performance.now();
      const metrics = await train({ config: grpoConfig, tokenizer, items, resume: false, parallel, device, log: process.stderr });
      const wall = (performance.now() - t0) / 1000;
      const numbers = metrics.flatMap((m, i) => numbersOf(m, `step${i + 1}`));
      const bad = numbers.filter(([, v]) => !Number.isFinite(v));
      expect('e', `${metrics.length} steps, every metric finite`, metrics.length === steps && bad.length === 0, bad.length ? `not finite: ${bad.map(([k, v]) => `${k}=${v}`).join(', ')}` : `${numbers.length} numbers finite`, 'all finite', metrics.map(({ samples: _s, ...m }) => m));
      const last = latestCheckpoint(runDir);
      if (!last) throw new Error(`the run saved no checkpoint in ${runDir}`);
      const trained = loadModel(join(last.dir, 'model'), { dtype: 'float32' });
      cleanup.push(() => trained.dispose());
      const changed = torch.scope(() => trained.parameters().filter((p, i) => p.sub(cpuModel.parameters()[i]!).abs().max().item() > 0).length);
      const total = trained.parameters().length;
      expect('e', 'parameters changed by training', changed > 0, `${changed} of ${total} tensors, largest change ${exp(paramsMaxAbs(trained.parameters(), cpuModel.parameters()))}`, '> 0 changed');
      const stepSeconds = metrics.map((m) => m.seconds.generate + m.seconds.score + m.seconds.backward);
      note('e', 'seconds per step (generate + score + backward)', `${stepSeconds.map((s) => fmt(s, 3)).join(', ')} (the first warms up); whole train() ${fmt(wall, 2)} s`, metrics.map((m) => m.seconds));
      note('e', 'tokens/s, communicate s', metrics.map((m) => `step ${m.step}: ${fmt(m.tokensPerSecond, 0)} tokens/s, communicate ${fmt(m.seconds.communicate, 4)} s`).join('; '));
    });

    // (f) Speed against Python on the same device.
    await part('f', 'speed against PyTorch', async () => {
      if (!found.python) return skip('f', 'intuitor / Python', `no Python torch${device === 'cpu' ? '' : ' with CUDA'}: ${describeProbes(found.probes)}`);
      const model = loadModel(modelDir, { dtype: 'float32', device });
      cleanup.push(() => model.dispose());
      for (const p of model.parameters()) p.requiresGrad_(true);
      speed = await compareSpeed(model, modelDir, found.python, env, settings.speed);
      const py = speed.python;
      note('f', 'Python side', `${found.python}: Python ${py.python}, torch ${py.torch}, ${py.threads} threads${py.deviceName ? `, ${py.deviceName}, allow_tf32 ${py.allowTf32}` : ''}`, py);
      const ag = speed.fwdbwdAgreement;
      expect('f', 'same computation: loss, log-prob sum', ag.lossRelDiff <= tol.pythonLossRel && ag.logprobSumRelDiff <= tol.pythonLossRel, `rel ${exp(ag.lossRelDiff)}, ${exp(ag.logprobSumRelDiff)}`, `<= ${tol.pythonLossRel} rel`, ag);
      expect('f', 'same computation: gradient norm', ag.gradNormRelDiff <= tol.pythonGradNormRel, `rel ${exp(ag.gradNormRelDiff)}`, `<= ${tol.pythonGradNormRel} rel`);
      expect('f', `greedy tokens vs Python, ${settings.speed.decode.batch} x ${settings.speed.greedyTokens}`, speed.greedy.mismatches === 0 && speed.greedy.maxStatDiff <= tol.stats, `${speed.greedy.mismatches} of ${speed.greedy.tokens} differ, stats max abs err ${exp(speed.greedy.maxStatDiff)}`, `identical, stats <= ${tol.stats}`);
      const m = speed.medians;
      note('f', 'forward+backward time, intuitor / Python', `ratio ${fmt(speed.ratios.fwdbwd, 3)} (medians ${fmt(m.fwdbwd.intuitor, 2)} vs ${fmt(m.fwdbwd.python, 2)} ms, ${rounds} rounds)`);
      const d = settings.speed.decode;
      note('f', `generate() ${d.batch} x ${d.promptLength} -> +${d.maxNewTokens} time, intuitor / Python`, `ratio ${fmt(speed.ratios.generate, 3)} (medians ${fmt(m.generate.intuitor, 1)} vs ${fmt(m.generate.python, 1)} ms, ${rounds} rounds)`);
    });
  } finally {
    try {
      group?.destroy();
    } catch (e) {
      progress(`destroying the process group failed: ${String(e)}`);
    }
    for (const fn of cleanup.reverse()) fn();
    rmSync(dir, { recursive: true, force: true });
    report(info, found.python, speed, (performance.now() - started) / 1000);
  }
}

function report(info: torch.RuntimeInfo, python: string | undefined, speed: SpeedResult | undefined, seconds: number): void {
  const failed = rows.filter((r) => r.status === 'FAIL');
  console.log(`\nintuitor on ${device} against ${device === 'cpu' ? 'itself on the CPU' : 'the CPU'}, libtorch ${info.torchVersion}; speed against Python torch on ${device}; ${fmt(seconds, 1)} s\n`);
  printTable(['part', 'check', 'result', 'measured', 'tolerance'], rows.map((r) => [r.part, r.check, r.status, r.value, r.tolerance]), 5);
  console.log(`\n${failed.length === 0 ? 'all checks passed' : `${failed.length} check(s) FAILED: ${failed.map((r) => `(${r.part}) ${r.check}`).join('; ')}`}\n`);
  console.log(
    JSON.stringify({
      bench: 'gpu-check',
      device,
      ok: failed.length === 0,
      failed: failed.map((r) => `(${r.part}) ${r.check}`),
      ratios: speed ? speed.ratios : null,
      units: { ratios: 'time, intuitor / Python (median over rounds of each round ratio); above 1: intuitor slower' },
      ms: speed ? { medians: speed.medians, raw: speed.ms } : null,
      checks: rows,
      env: { node: process.version, torch: info.torchVersion, cuda: info.cuda, cudaDevices: info.cudaDevices, threads: info.numThreads, python: python ?? null },
      settings,
      seconds,
    }),
  );
  if (failed.length > 0) process.exitCode = 1;
}

await main();
