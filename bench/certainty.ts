// Benchmarks intuitor's fused self-certainty scoring against the naive PyTorch code on the same logits.
//
//   npm run bench:certainty         (or: node --import tsx bench/certainty.ts [--rounds N] [--quick])
//
// Logits [T = 2048, V = 151936] (Qwen2's vocabulary), float32 and bfloat16, made from a seed by the
// same ops on both sides and checked to be byte-identical (SHA-256). intuitor's
// tokenStatistics(logits, { only: 'certainty' }) (and, as extra rows, the full statistics) against
// Python's `torch.logsumexp(x, -1) - x.mean(-1) - log V` (bf16: on x.float()), run by
// `/usr/bin/python3 bench/certainty.py` on the same libtorch with the same threads and BLAS/OpenMP
// environment:
//
// - peak memory: each measurement in a fresh child process that makes the logits and records its
//   resident high-water mark around one scoring call (the extra memory beyond holding the logits);
// - time: interleaved rounds, alternating which side goes first, medians after a warm-up round;
// - agreement: both sides' results against a float64 reference.
//
// Prints a table, then one line that is a JSON object with the ratios and raw numbers. See bench/README.md.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.ts';
import { tokenStatistics, type TokenStatisticsOptions } from '../src/certainty/token-statistics.ts';
import { argv, both, checkPythonInfo, elapsedNs, ensurePythonTorch, envReport, exposeGc, fmt, intuitorLine, median, nowNs, parseRounds, printTable, progress, PythonSide, sideMedians, spawnPython, engineEnvNames, type PythonInfo, type Sample } from './harness.ts';

// ---- settings ---------------------------------------------------------------------------------

const memoryChildArg = argv.indexOf('--memory-child');
const rounds = parseRounds(2, 5);

const settings = {
  threads: torch.getNumThreads(),
  rounds,
  // Qwen2/Qwen2.5's vocabulary; genRows: rows made (and hashed) per chunk. 64 rows are 37 MiB of
  // float32, above glibc's largest mmap threshold (32 MiB): each chunk is its own mapping, returned to
  // the system when freed, so making the logits leaves no freed heap behind that the scoring could
  // reuse unseen (smaller chunks left 150-250 MiB of it in the TS process and hid the scoring's peak).
  logits: { T: 2048, V: 151_936, seed: 20_250_601, genRows: 64 },
  // a fused result further than this from the float64 reference is a failure
  tolerance: 1e-4,
};

type DType = 'float32' | 'bfloat16';
type Path = 'certainty' | 'full';
const dtypes: readonly DType[] = ['float32', 'bfloat16'];
const paths: readonly Path[] = ['certainty', 'full'];
type Workload = `${Path}${'Float32' | 'Bfloat16'}`;
const workload = (path: Path, dtype: DType): Workload => `${path}${dtype === 'float32' ? 'Float32' : 'Bfloat16'}`;
const workloads: readonly Workload[] = paths.flatMap((p) => dtypes.map((d) => workload(p, d)));

/** The rows per chunk tokenStatistics picks by default for logits (about 2 MiB of float32 per chunk). */
const chunkRows = Math.max(1, Math.floor((2 * 1024 * 1024) / (4 * settings.logits.V)));
const chunkBytes = chunkRows * settings.logits.V * 4;
/**
 * "O(chunk x V)" as a number: each of the threads holds a few float32 [chunk, V] temporaries at a
 * time (the upcast chunk, z - max, exp, log p, p, p log p); 16 of them per thread is a generous
 * allowance that still stays far below one [T, V] float32 copy (1187 MiB).
 */
const extraBoundBytes = 16 * settings.threads * chunkBytes;
const targets = { timeRatio: 1.0, extraMiB: extraBoundBytes / 2 ** 20 };

const MiB = (bytes: number): number => bytes / 2 ** 20;

// ---- the logits (same recipe as make_logits in bench/certainty.py) --------------------------------

const rowScale = (i: number): number => 1 + (3 * ((i * 37) % 64)) / 63;
const rowPeak = (i: number): number => ((i * 11) % 8) * 3;
const peakColumn = (i: number): number => (i * 7919) % settings.logits.V;

/**
 * [T, V] logits: row i is rowScale(i) * N(0, 1) noise (standard deviations 1 to 4, like real LM
 * logits) plus rowPeak(i) (0 to 21) on one token, so rows range from flat to confident. Made in
 * chunks of rows in float32 and copied into the [T, V] tensor of `dtype`, so that making them never
 * holds a second full-size copy (which would hide the scoring's own peak in the memory probes).
 */
function makeLogits(dtype: DType): torch.Tensor {
  const { T, V, seed, genRows } = settings.logits;
  torch.manualSeed(seed);
  const out = torch.empty([T, V], { dtype }).keep();
  for (let r0 = 0; r0 < T; r0 += genRows) {
    const rows = Math.min(genRows, T - r0);
    torch.scope(() => {
      const chunk = torch.randn([rows, V]);
      for (let i = r0; i < r0 + rows; i++) {
        const row = chunk.narrow(0, i - r0, 1);
        row.mul_(rowScale(i));
        const peak = rowPeak(i);
        if (peak !== 0) row.narrow(1, peakColumn(i), 1).add_(peak);
      }
      out.narrow(0, r0, rows).copy_(chunk);
    });
  }
  return out;
}

function sha256(x: torch.Tensor): string {
  const { T, genRows } = settings.logits;
  const hash = createHash('sha256');
  for (let r0 = 0; r0 < T; r0 += genRows) {
    torch.scope(() => {
      hash.update(x.narrow(0, r0, Math.min(genRows, T - r0)).bytes());
    });
  }
  return hash.digest('hex');
}

// ---- intuitor's scoring -------------------------------------------------------------------------

const scoreOptions = (path: Path): TokenStatisticsOptions => (path === 'certainty' ? { only: 'certainty' } : {});

/** The scoring call, results disposed (after the clock stops, by the caller). */
function score(x: torch.Tensor, path: Path): torch.Tensor[] {
  const s = tokenStatistics(x, scoreOptions(path));
  return [s.selfCertainty, s.logsumexp, s.mean, ...(s.entropy ? [s.entropy] : []), ...(s.gini ? [s.gini] : [])];
}

/** Wall time of one call, and the process's CPU time in it (all threads), split into user and kernel. */
interface Timing {
  ms: number;
  userMs: number;
  sysMs: number;
}

function timedScore(x: torch.Tensor, path: Path): Timing {
  const cpu = process.cpuUsage();
  const start = nowNs();
  const results = score(x, path);
  const ms = elapsedNs(start) / 1e6;
  const used = process.cpuUsage(cpu);
  for (const t of results) t.dispose();
  return { ms, userMs: used.user / 1e3, sysMs: used.system / 1e3 };
}

// ---- memory probes: one fresh process per measurement ---------------------------------------------

interface MemoryProbe {
  side: 'intuitor' | 'python';
  dtype: DType;
  path: Path;
  logitsBytes: number;
  /** RSS at the probe's start, after making the logits, and after the warm-up (just before the call) */
  rssStartKiB: number;
  rssMadeKiB: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  hwmReset: boolean;
  hwmAfterKiB: number;
  maxRssBeforeKiB: number;
  maxRssAfterKiB: number;
  /** intuitor only: torch.memoryStats().peakBytes after resetPeakBytes(), minus liveBytes before */
  tensorPeakExtraBytes?: number;
}

function procStatusKiB(field: string): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line === undefined ? -1 : Number(line.split(/\s+/)[1]);
}

/** Resets this process's resident high-water mark (VmHWM) to its current RSS (Linux >= 4.0). */
function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const warmupColumns = 4096;

/** Runs in the child: makes the logits, warms up on an [8, 4096] corner, measures one scoring call, prints one JSON line. */
function memoryChild(probe: { dtype: DType; path: Path; threads: number }): void {
  torch.setNumThreads(probe.threads);
  const rssStartKiB = procStatusKiB('VmRSS');
  const x = makeLogits(probe.dtype);
  const rssMadeKiB = procStatusKiB('VmRSS');
  // Warm-up on a small corner ([8, 4096]): pages in the same kernels' code and starts the threads,
  // without leaving buffers of the real call's sizes cached in the allocator.
  torch.scope(() => {
    score(x.narrow(0, 0, 8).narrow(1, 0, warmupColumns), probe.path);
  });
  const rssBeforeKiB = procStatusKiB('VmRSS');
  const maxRssBeforeKiB = process.resourceUsage().maxRSS; // KiB
  const liveBefore = torch.memoryStats().liveBytes;
  torch.resetPeakBytes();
  const hwmReset = resetHwm();
  const results = score(x, probe.path);
  const hwmAfterKiB = procStatusKiB('VmHWM');
  const maxRssAfterKiB = process.resourceUsage().maxRSS;
  const tensorPeakExtraBytes = torch.memoryStats().peakBytes - liveBefore;
  const rssAfterKiB = procStatusKiB('VmRSS');
  for (const t of results) t.dispose();
  const out: MemoryProbe = {
    side: 'intuitor',
    dtype: probe.dtype,
    path: probe.path,
    logitsBytes: x.numel * (probe.dtype === 'float32' ? 4 : 2),
    rssStartKiB,
    rssMadeKiB,
    rssBeforeKiB,
    rssAfterKiB,
    hwmReset,
    hwmAfterKiB,
    maxRssBeforeKiB,
    maxRssAfterKiB,
    tensorPeakExtraBytes,
  };
  x.dispose();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Starts one probe process and returns its JSON line. */
async function runProbe(side: 'intuitor' | 'python', dtype: DType, path: Path, env: NodeJS.ProcessEnv): Promise<MemoryProbe> {
  const probe = JSON.stringify({ dtype, path, threads: settings.threads, warmupColumns });
  const what = `${side} memory probe (${dtype}, ${path})`;
  if (side === 'python') {
    const py = spawnPython('certainty.py', [JSON.stringify(settings), '--memory', probe], { env, cwd: repoRoot, stdin: 'ignore' });
    const stdout = await collect(py.child.stdout!);
    const end = await py.exited;
    const last = stdout.trim().split('\n').pop() ?? '';
    if (end.code !== 0 || !last.startsWith('{')) throw await py.failure(`during the ${what}; its output: ${JSON.stringify(stdout.slice(-300))}`);
    return JSON.parse(last) as MemoryProbe;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', thisFile, '--memory-child', probe], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`${what} failed: code ${code}, signal ${signal}, output ${stdout}`));
      else resolve(JSON.parse(last) as MemoryProbe);
    });
  });
}

/** All of a stream's text. */
async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/**
 * The extra resident memory of the scoring call, in bytes: the resident high-water mark during the call
 * (VmHWM, reset to the current RSS just before it) minus the RSS just before it. Without the reset
 * (/proc/self/clear_refs not writable) the getrusage high-water delta, a lower bound: making the logits
 * already raised the mark a little above what holding them needs.
 */
function extraBytes(p: MemoryProbe): number {
  return p.hwmReset ? (p.hwmAfterKiB - p.rssBeforeKiB) * 1024 : Math.max(0, p.maxRssAfterKiB - p.maxRssBeforeKiB) * 1024;
}
/** The same peak as getrusage's ru_maxrss sees it (after the reset it tracks the call's peak too), minus the RSS before. */
const getrusageExtraBytes = (p: MemoryProbe): number => (p.maxRssAfterKiB - p.rssBeforeKiB) * 1024;

// ---- the run ------------------------------------------------------------------------------------

interface CpuSample {
  intuitor: { userMs: number; sysMs: number };
  python: { userMs: number; sysMs: number };
}

interface Agreement {
  /** max |intuitor - float64 reference| over the rows, per statistic */
  intuitor: Record<string, number>;
  /** max |python naive - float64 reference| */
  python: Record<string, number>;
  /** max |intuitor - python naive| */
  intuitorVsPython: Record<string, number>;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
};

async function main(): Promise<void> {
  exposeGc(); // between the two sides' turns, settle() collects the JS side's garbage
  const info = torch.runtimeInfo();
  // Importing the engine has already settled OPENBLAS_CORETYPE and OMP_WAIT_POLICY in process.env
  // (src/torch/blas-env.ts); every child inherits exactly that environment.
  const env: NodeJS.ProcessEnv = { ...process.env };
  const { T, V } = settings.logits;
  progress(intuitorLine(info, settings.threads, env));
  ensurePythonTorch(); // before the first probe, so that a missing baseline fails (or is installed) first
  progress(`logits [${T}, ${V}]: ${MiB(T * V * 4).toFixed(0)} MiB in float32, ${MiB(T * V * 2).toFixed(0)} MiB in bfloat16; tokenStatistics chunk ${chunkRows} rows (${MiB(chunkBytes).toFixed(2)} MiB of float32)`);

  // 1. Peak memory first, while this process is small: a child's ru_maxrss starts from its parent's
  //    high-water mark (Linux copies it across fork), which would hide a child's smaller peak.
  //    The two sides' probes of one workload run at the same time (each process has its own
  //    high-water mark; only their speed is shared), which halves this part of the run.
  const probes: MemoryProbe[] = [];
  for (const dtype of dtypes) {
    for (const path of paths) {
      const pair = await Promise.all((['intuitor', 'python'] as const).map((side) => runProbe(side, dtype, path, env)));
      for (const p of pair) {
        probes.push(p);
        if (!p.hwmReset) progress(`warning: /proc/self/clear_refs is not writable: ${p.side}'s extra memory is a getrusage delta, a lower bound`);
        progress(
          `memory ${p.side.padEnd(8)} ${path.padEnd(9)} ${dtype.padEnd(8)}: logits held ${MiB((p.rssMadeKiB - p.rssStartKiB) * 1024).toFixed(0)} MiB, ` +
            `extra ${MiB(extraBytes(p)).toFixed(1)} MiB (getrusage ${MiB(getrusageExtraBytes(p)).toFixed(1)} MiB` +
            `${p.tensorPeakExtraBytes !== undefined ? `, tensor peak +${(p.tensorPeakExtraBytes / 1024).toFixed(1)} KiB` : ''})`,
        );
      }
    }
  }

  // 2. Time, in interleaved rounds, on the same logits in both processes.
  const py = new PythonSide('certainty.py', settings, env);
  const samples: Record<Workload, Sample[]> = Object.fromEntries(workloads.map((w) => [w, []])) as unknown as Record<Workload, Sample[]>;
  const cpuSamples: Record<Workload, CpuSample[]> = Object.fromEntries(workloads.map((w) => [w, []])) as unknown as Record<Workload, CpuSample[]>;
  const logits = new Map<DType, torch.Tensor>();
  const hashes: Record<string, { intuitor: string; python: string; match: boolean; msToMake: Sample }> = {};
  const agreement: Record<DType, Agreement> = {} as Record<DType, Agreement>;
  let pyInfo: PythonInfo;
  try {
    pyInfo = await py.call({ cmd: 'info', envNames: engineEnvNames });
    checkPythonInfo(pyInfo, settings.threads, env);

    for (const dtype of dtypes) {
      const pyMade = py.call<{ sha256: string; msToMake: number }>({ cmd: 'make', dtype }); // both make theirs at once
      const start = nowNs();
      const x = makeLogits(dtype);
      const msToMake = elapsedNs(start) / 1e6;
      logits.set(dtype, x);
      const mine = sha256(x);
      const theirs = await pyMade;
      hashes[dtype] = { intuitor: mine, python: theirs.sha256, match: mine === theirs.sha256, msToMake: { intuitor: msToMake, python: theirs.msToMake } };
      progress(`logits ${dtype}: sha256 ${mine.slice(0, 16)}... ${mine === theirs.sha256 ? 'identical on both sides' : `DIFFERS from Python's ${theirs.sha256.slice(0, 16)}...`}`);
      if (mine !== theirs.sha256) throw new Error(`the two sides made different ${dtype} logits: nothing to compare`);
    }

    // Agreement: intuitor's results (both paths) and Python's naive ones against a float64 reference.
    for (const dtype of dtypes) {
      const x = logits.get(dtype)!;
      const ours = torch.scope(() => {
        const c = tokenStatistics(x, { only: 'certainty' });
        const f = tokenStatistics(x);
        return {
          certainty: c.selfCertainty.toFloat64Array(),
          fullCertainty: f.selfCertainty.toFloat64Array(),
          entropy: f.entropy!.toFloat64Array(),
          gini: f.gini!.toFloat64Array(),
        };
      });
      const theirs = await py.call<{ reference: Record<'certainty' | 'entropy' | 'gini', number[]>; naive: Record<'certainty' | 'entropy' | 'gini', number[]> }>({
        cmd: 'reference',
        dtype,
      });
      const ref = theirs.reference;
      agreement[dtype] = {
        intuitor: {
          certainty: maxAbsDiff(ours.certainty, ref.certainty),
          fullCertainty: maxAbsDiff(ours.fullCertainty, ref.certainty),
          entropy: maxAbsDiff(ours.entropy, ref.entropy),
          gini: maxAbsDiff(ours.gini, ref.gini),
        },
        python: {
          certainty: maxAbsDiff(theirs.naive.certainty, ref.certainty),
          entropy: maxAbsDiff(theirs.naive.entropy, ref.entropy),
          gini: maxAbsDiff(theirs.naive.gini, ref.gini),
        },
        intuitorVsPython: { certainty: maxAbsDiff(ours.certainty, theirs.naive.certainty) },
      };
      const a = agreement[dtype];
      const range = [Math.min(...ref.certainty), Math.max(...ref.certainty)];
      progress(
        `agreement ${dtype}: self-certainty in [${range[0]!.toFixed(3)}, ${range[1]!.toFixed(3)}]; max |intuitor - float64| ${a.intuitor.certainty!.toExponential(2)} ` +
          `(full path ${a.intuitor.fullCertainty!.toExponential(2)}, entropy ${a.intuitor.entropy!.toExponential(2)}, gini ${a.intuitor.gini!.toExponential(2)}); ` +
          `max |python - float64| ${a.python.certainty!.toExponential(2)}; max |intuitor - python| ${a.intuitorVsPython.certainty!.toExponential(2)}`,
      );
    }

    const round = async (r: number, record: boolean): Promise<void> => {
      const tsFirst = r % 2 === 0;
      const row: Partial<Record<Workload, Sample>> = {};
      const cpuRow: Partial<Record<Workload, CpuSample>> = {};
      for (const path of paths) {
        for (const dtype of dtypes) {
          const x = logits.get(dtype)!;
          const [ts, pyT] = await both(
            tsFirst,
            () => timedScore(x, path),
            () => py.call<Timing>({ cmd: path, dtype }),
          );
          const w = workload(path, dtype);
          row[w] = { intuitor: ts.ms, python: pyT.ms };
          cpuRow[w] = { intuitor: { userMs: ts.userMs, sysMs: ts.sysMs }, python: { userMs: pyT.userMs, sysMs: pyT.sysMs } };
        }
      }
      if (record) {
        for (const w of workloads) {
          samples[w].push(row[w]!);
          cpuSamples[w].push(cpuRow[w]!);
        }
      }
      progress(
        `${record ? `round ${r + 1}/${rounds}` : 'warm-up  '}: ` +
          workloads.map((w) => `${w} ${fmt(row[w]!.intuitor, 0)} vs ${fmt(row[w]!.python, 0)} ms`).join(', '),
      );
    };

    await round(1, false);
    for (let r = 0; r < rounds; r++) await round(r, true);
  } finally {
    await py.close();
    for (const x of logits.values()) x.dispose();
  }
  report(info, pyInfo, samples, cpuSamples, probes, hashes, agreement);
}

function report(
  info: torch.RuntimeInfo,
  pyInfo: { torch: string; blasCore: string },
  samples: Record<Workload, Sample[]>,
  cpuSamples: Record<Workload, CpuSample[]>,
  probes: MemoryProbe[],
  hashes: Record<string, unknown>,
  agreement: Record<DType, Agreement>,
): void {
  const { T, V } = settings.logits;
  const probe = (side: 'intuitor' | 'python', w: Workload): MemoryProbe =>
    probes.find((p) => p.side === side && workload(p.path, p.dtype) === w)!;
  const msIntuitor = sideMedians(samples, 'intuitor');
  const msPython = sideMedians(samples, 'python');
  // Per round: intuitor's time over Python's for the same work (measured back to back), then the median.
  const timeRatios = Object.fromEntries(workloads.map((w) => [w, median(samples[w].map((x) => x.intuitor / x.python))])) as Record<Workload, number>;
  const ratioOfMedians = Object.fromEntries(workloads.map((w) => [w, msIntuitor[w] / msPython[w]]));
  const extra = (side: 'intuitor' | 'python'): Record<Workload, number> =>
    Object.fromEntries(workloads.map((w) => [w, MiB(extraBytes(probe(side, w)))])) as Record<Workload, number>;
  const extraIntuitor = extra('intuitor');
  const extraPython = extra('python');
  const getrusageExtra = (side: 'intuitor' | 'python'): Record<string, number> => Object.fromEntries(workloads.map((w) => [w, MiB(getrusageExtraBytes(probe(side, w)))]));
  const tensorPeakExtraBytes = Object.fromEntries(workloads.map((w) => [w, probe('intuitor', w).tensorPeakExtraBytes ?? NaN]));
  const cpuMedians = (side: keyof CpuSample): Record<string, { userMs: number; sysMs: number }> =>
    Object.fromEntries(
      workloads.map((w) => [w, { userMs: median(cpuSamples[w].map((x) => x[side].userMs)), sysMs: median(cpuSamples[w].map((x) => x[side].sysMs)) }]),
    );
  const cpuIntuitor = cpuMedians('intuitor');
  const cpuPython = cpuMedians('python');
  const memoryRatios = Object.fromEntries(workloads.map((w) => [w, extraIntuitor[w] / extraPython[w]]));

  const tolerance = settings.tolerance;
  const agree = dtypes.every((d) => Object.values(agreement[d].intuitor).every((v) => v <= tolerance));
  const met = Object.fromEntries(
    dtypes.map((d) => {
      const w = workload('certainty', d);
      return [w, { time: timeRatios[w] <= targets.timeRatio, memory: extraIntuitor[w] <= targets.extraMiB }];
    }),
  );

  const labels: Record<Workload, string> = {
    certaintyFloat32: 'self-certainty, float32 logits',
    certaintyBfloat16: 'self-certainty, bfloat16 logits',
    fullFloat32: 'all statistics, float32 logits',
    fullBfloat16: 'all statistics, bfloat16 logits',
  };
  const rows = workloads.map((w) => [
    labels[w],
    fmt(msIntuitor[w], 0),
    fmt(msPython[w], 0),
    fmt(timeRatios[w], 2),
    fmt(extraIntuitor[w], 1),
    fmt(extraPython[w], 1),
    fmt(memoryRatios[w], 4),
    w.startsWith('certainty') ? `ratio <= ${targets.timeRatio}, extra <= ${fmt(targets.extraMiB, 0)} MiB` : '',
  ]);
  console.log(
    `\nintuitor tokenStatistics (Node ${process.version}) vs naive PyTorch ${pyInfo.torch} (Python), same libtorch ${info.torchVersion}; ` +
      `${settings.threads} threads, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? 'unset'}\n` +
      `logits [${T}, ${V}], identical on both sides (sha256); python: logsumexp(x, -1) - x.mean(-1) - log V (bfloat16: on x.float(), twice); ` +
      `all statistics: + log_softmax, exp, entropy, gini\n` +
      `time: medians of ${rounds} interleaved rounds; time ratio = median over rounds of intuitor / python (above 1: intuitor slower)\n` +
      `extra MiB: resident high-water mark during one call minus RSS before it, fresh process each; one [T, V] float32 copy = ${fmt(MiB(T * V * 4), 0)} MiB\n` +
      `results vs float64 reference: ${agree ? 'agree' : 'DIFFER'} (max |intuitor - float64| ` +
      dtypes.map((d) => `${d} ${agreement[d].intuitor.certainty!.toExponential(1)}`).join(', ') +
      `; python naive ` +
      dtypes.map((d) => `${d} ${agreement[d].python.certainty!.toExponential(1)}`).join(', ') +
      `; tolerance ${tolerance})\n`,
  );
  printTable(['workload', 'intuitor ms', 'python ms', 'time ratio', 'intuitor extra MiB', 'python extra MiB', 'memory ratio', 'target'], rows);
  // Where the time goes: CPU time of the call on all threads, user and kernel (page faults of fresh buffers).
  const cpuRows = workloads.map((w) => [
    labels[w],
    fmt(cpuIntuitor[w]!.userMs, 0),
    fmt(cpuIntuitor[w]!.sysMs, 0),
    fmt(cpuPython[w]!.userMs, 0),
    fmt(cpuPython[w]!.sysMs, 0),
  ]);
  console.log('');
  printTable(['CPU time per call, all threads (medians)', 'intuitor user ms', 'intuitor sys ms', 'python user ms', 'python sys ms'], cpuRows);
  console.log('');
  console.log(
    JSON.stringify({
      ratios: { time: timeRatios, memory: memoryRatios },
      ratioOfMedians: { time: ratioOfMedians },
      intuitor: { ms: msIntuitor, cpuMs: cpuIntuitor, extraMiB: extraIntuitor, getrusageExtraMiB: getrusageExtra('intuitor'), tensorPeakExtraBytes },
      python: { ms: msPython, cpuMs: cpuPython, extraMiB: extraPython, getrusageExtraMiB: getrusageExtra('python') },
      units: {
        ms: 'milliseconds per call (wall)',
        cpuMs: 'milliseconds of CPU time in the call, all threads: user and kernel (sys)',
        extraMiB: 'MiB (2^20 bytes): resident high-water mark during the call (VmHWM after clear_refs) minus RSS before it',
        getrusageExtraMiB: 'MiB: ru_maxrss after the call minus RSS before it (a second reading of the same peak)',
        tensorPeakExtraBytes: 'bytes: torch.memoryStats().peakBytes after resetPeakBytes() minus liveBytes before (tensor handles only)',
      },
      targets: { timeRatio: targets.timeRatio, extraMiB: targets.extraMiB, met },
      agreement: { tolerance, agree, maxAbs: agreement },
      logits: { T, V, seed: settings.logits.seed, chunkRows, hashes },
      env: envReport(info, pyInfo, settings.threads),
      settings,
      raw: { time: samples, cpu: cpuSamples, memory: probes },
    }),
  );
  if (!agree) process.exitCode = 1;
}

if (memoryChildArg >= 0) memoryChild(JSON.parse(argv[memoryChildArg + 1]!) as { dtype: DType; path: Path; threads: number });
else await main();
