// Shared plumbing of the bench/*.ts runners: command-line rounds and device, timing and median
// helpers, the Python child (bench/*.py, spoken to one JSON line per command) and which Python runs
// it, the BLAS/OpenMP environment both sides must share, the pause between turns, and table/JSON
// output helpers. See bench/README.md.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '../src/torch/index.ts';

export const argv = process.argv.slice(2);
export const quick = argv.includes('--quick');

/** `--rounds N`, else `quickRounds` with --quick, else `fullRounds`. */
export function parseRounds(quickRounds: number, fullRounds: number): number {
  const roundsArg = argv.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(argv[roundsArg + 1]) : quick ? quickRounds : fullRounds;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${argv[roundsArg + 1]}`);
  return rounds;
}

/** `--device cpu|cuda|cuda:N`, else `fallback`. */
export function parseDevice(fallback: string): string {
  const i = argv.indexOf('--device');
  const device = i >= 0 ? argv[i + 1] : fallback;
  if (device === undefined || !/^(cpu|cuda(:\d+)?)$/.test(device)) throw new Error(`--device must be cpu, cuda or cuda:N, got ${device}`);
  return device;
}

/** Waits for the work queued on `device` (CUDA runs asynchronously), so that a clock read after it counts that work. */
export function synchronize(device: string): void {
  if (device !== 'cpu') torch.cuda.synchronize();
}

export const nowNs = (): bigint => process.hrtime.bigint();
export const elapsedNs = (start: bigint): number => Number(nowNs() - start);
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
export function fmt(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** One value per round for each side. */
export interface Sample {
  intuitor: number;
  python: number;
}
/** Per key, the median over rounds of one side's values. */
export const sideMedians = <K extends string>(samples: Record<K, Sample[]>, side: keyof Sample): Record<K, number> =>
  Object.fromEntries((Object.keys(samples) as K[]).map((k) => [k, median(samples[k].map((x) => x[side]))])) as Record<K, number>;

// ---- the environment both sides share ---------------------------------------------------------

/** The environment variables that decide how BLAS and OpenMP behave; both sides run with these values. */
export const engineEnvNames = ['OPENBLAS_CORETYPE', 'OMP_WAIT_POLICY', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'GOMP_SPINCOUNT', 'INTUITOR_NUM_THREADS'] as const;
export const engineEnv = (env: NodeJS.ProcessEnv): Record<string, string | null> => Object.fromEntries(engineEnvNames.map((n) => [n, env[n] ?? null]));

/** The progress line about this side: torch, threads, OpenBLAS core and the engine environment that is set. */
export function intuitorLine(info: torch.RuntimeInfo, threads: number, env: NodeJS.ProcessEnv): string {
  const envShown = Object.entries(engineEnv(env))
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `intuitor: torch ${info.torchVersion}, ${threads} threads, OpenBLAS core ${info.blasCore || '(none)'} (${info.blasCoretypeSource}); ${envShown}`;
}

export interface PythonInfo {
  torch: string;
  threads: number;
  blasCore: string;
  env: Record<string, string | null>;
  python?: string;
}

/** Reports the Python side and throws unless it runs the same threads and environment; warns on another OpenBLAS core if `blasCore` is given. */
export function checkPythonInfo(pyInfo: PythonInfo, threads: number, env: NodeJS.ProcessEnv, blasCore?: string): void {
  progress(`python:   ${pyInfo.python !== undefined ? `${pyInfo.python}, ` : ''}torch ${pyInfo.torch}, ${pyInfo.threads} threads, OpenBLAS core ${pyInfo.blasCore || '(none)'}`);
  if (pyInfo.threads !== threads) throw new Error(`Python runs ${pyInfo.threads} threads, intuitor ${threads}`);
  if (JSON.stringify(pyInfo.env) !== JSON.stringify(engineEnv(env))) throw new Error(`Python sees another environment: ${JSON.stringify(pyInfo.env)}`);
  if (blasCore !== undefined && pyInfo.blasCore !== blasCore) progress(`warning: OpenBLAS cores differ (intuitor ${blasCore}, python ${pyInfo.blasCore}): numbers are not comparable`);
}

/** The `env` object of a runner's JSON line. */
export function envReport(info: torch.RuntimeInfo, pyInfo: { torch: string; blasCore: string; python?: string }, threads: number): Record<string, unknown> {
  return {
    node: process.version,
    torch: info.torchVersion,
    ...(pyInfo.python !== undefined ? { python: pyInfo.python } : {}),
    pythonTorch: pyInfo.torch,
    threads,
    blasCore: info.blasCore,
    pythonBlasCore: pyInfo.blasCore,
    blasCoretypeSource: info.blasCoretypeSource,
    ...engineEnv(process.env),
  };
}

// ---- the Python side --------------------------------------------------------------------------

/**
 * The folder of the bench/*.py scripts: INTUITOR_BENCH_DIR, else this module's folder when they are beside
 * it (run from source), else <repository>/bench for a bundle two folders below the repository root (as
 * src/torch/native.ts finds the addon), else ./bench under the working directory.
 */
export function benchDir(): string {
  if (process.env.INTUITOR_BENCH_DIR) return resolve(process.env.INTUITOR_BENCH_DIR);
  const candidates = [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../../bench/', import.meta.url)), join(process.cwd(), 'bench')];
  const found = candidates.find((dir) => existsSync(join(dir, 'harness.py')));
  if (found === undefined) throw new Error(`bench/*.py not found in ${candidates.join(', ')}: set INTUITOR_BENCH_DIR to the repository's bench folder`);
  return found;
}

/** The absolute path of a file in bench/. */
export const benchFile = (name: string): string => join(benchDir(), name);

/** What a Python interpreter says about its torch (or why it cannot say). */
export interface PythonProbe {
  python: string;
  torch?: string;
  cuda?: boolean;
  cudaDevices?: number;
  deviceName?: string | null;
  error?: string;
}

const probeScript = `import json, sys, torch
cuda = torch.cuda.is_available()
print(json.dumps({"torch": torch.__version__, "cuda": cuda, "cudaDevices": torch.cuda.device_count() if cuda else 0, "deviceName": torch.cuda.get_device_name() if cuda else None}))`;

/**
 * The Python to run bench/*.py with: INTUITOR_PYTHON if set (and only it), else the first of
 * /usr/bin/python3 (Debian's python3-torch, the same libtorch as a system-built addon) and \`python3\` on
 * the PATH whose torch imports and, with \`cuda\`, sees a GPU. `python` is undefined when none fits;
 * `probes` says what each candidate answered.
 */
export function findPython(cuda: boolean): { python: string | undefined; probes: PythonProbe[] } {
  const candidates = process.env.INTUITOR_PYTHON ? [process.env.INTUITOR_PYTHON] : ['/usr/bin/python3', 'python3'];
  const probes: PythonProbe[] = [];
  for (const python of candidates) {
    const run = spawnSync(python, ['-c', probeScript], { encoding: 'utf8', timeout: 120_000 });
    let probe: PythonProbe;
    if (run.error || run.status !== 0) {
      const lines = (run.stderr ?? '').trim().split('\n');
      probe = { python, error: run.error ? run.error.message : lines[lines.length - 1] || `exit code ${run.status}` };
    } else {
      probe = { python, ...(JSON.parse(run.stdout.trim().split('\n').pop()!) as Omit<PythonProbe, 'python'>) };
      if (cuda && !probe.cuda) probe.error = `its torch ${probe.torch} sees no CUDA device`;
    }
    probes.push(probe);
    if (probe.error === undefined) return { python, probes };
  }
  return { python: undefined, probes };
}

/** One line per probe, for error messages. */
export const describeProbes = (probes: readonly PythonProbe[]): string =>
  probes.map((p) => `${p.python}: ${p.error ?? `torch ${p.torch}${p.cuda ? `, CUDA (${p.deviceName})` : ''}`}`).join('; ');

/** `python bench/<name> '<settings JSON>'` (default INTUITOR_PYTHON, else /usr/bin/python3), answering one JSON line per JSON command line. */
export class PythonSide {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #name: string;
  readonly #commandChars: number | undefined;
  #spawnError: Error | undefined;

  /** `commandChars`: how much of a failed command the error message quotes (all of it if undefined). */
  constructor(name: string, settings: unknown, env: NodeJS.ProcessEnv, commandChars?: number, python = process.env.INTUITOR_PYTHON || '/usr/bin/python3') {
    this.#name = name;
    this.#commandChars = commandChars;
    this.#child = spawn(python, [benchFile(name), JSON.stringify(settings)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.pipe(process.stderr); // Python's tracebacks and warnings show as they come
    this.#child.on('error', (e) => (this.#spawnError = e)); // e.g. no such interpreter: reported by call()
    this.#child.stdin.on('error', () => {}); // a dead child shows as the end of its output, reported by call()
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async call<T>(command: Record<string, unknown>): Promise<T> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.#lines.next();
    if (done) {
      const shown = JSON.stringify(command).slice(0, this.#commandChars);
      if (this.#spawnError) throw new Error(`bench/${this.#name} could not start: ${this.#spawnError.message}`);
      throw new Error(`bench/${this.#name} exited (code ${this.#child.exitCode}) while answering ${shown}: see its error above`);
    }
    return JSON.parse(value) as T;
  }

  async close(): Promise<void> {
    if (this.#spawnError || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await exited;
  }
}

// ---- between turns ------------------------------------------------------------------------------

let collectGarbage = (): void => {};
/** Makes settle() run a full collection (outside the timings); until called, settle() only pauses. */
export function exposeGc(): void {
  v8.setFlagsFromString('--expose-gc');
  collectGarbage = runInNewContext('gc') as () => void;
}

/**
 * Between the two sides' turns. After a BLAS call OpenBLAS's worker threads keep polling for up to
 * ~0.1 s (2^28 cycles) before they sleep, which would steal cores from the other process; and the
 * JS side collects its garbage and runs the pending finalisers now, not inside the next timing.
 */
export const settleMs = 150;
export async function settle(): Promise<void> {
  collectGarbage();
  await new Promise(setImmediate);
  await new Promise(setImmediate);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
}

/**
 * Runs one workload on both sides, in the given order, with a pause between them, and one more pause
 * after both (or, with `settleBefore`, before both instead).
 */
export async function both<T, U>(tsFirst: boolean, runTs: () => T | Promise<T>, runPy: () => Promise<U>, settleBefore = false): Promise<[T, U]> {
  let t: T;
  let u: U;
  if (settleBefore) await settle();
  if (tsFirst) {
    t = await runTs();
    await settle();
    u = await runPy();
  } else {
    u = await runPy();
    await settle();
    t = await runTs();
  }
  if (!settleBefore) await settle();
  return [t, u];
}

// ---- output ---------------------------------------------------------------------------------------

/** Prints a header, a rule and the rows: the first `leftColumns` columns left-aligned, the others right-aligned. */
export function printTable(header: string[], rows: string[][], leftColumns = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}
