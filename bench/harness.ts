// Shared plumbing of the bench/*.ts runners: command-line rounds and device, timing and median
// helpers, the Python child (bench/*.py, spoken to one JSON line per command) and which Python runs
// it, the BLAS/OpenMP environment both sides must share, the pause between turns, and table/JSON
// output helpers. See bench/README.md.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
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

/** Asks `python` to import torch; `error` is set when it cannot (with `cuda`: also when its torch sees no GPU). */
export function probePython(python: string, cuda = false): PythonProbe {
  const run = spawnSync(python, ['-c', probeScript], { encoding: 'utf8', timeout: 120_000 });
  if (run.error || run.status !== 0) {
    const lines = (run.stderr ?? '').trim().split('\n');
    return { python, error: run.error ? run.error.message : lines[lines.length - 1] || describeExit(run.status, run.signal) };
  }
  let probe: PythonProbe;
  try {
    probe = { python, ...(JSON.parse(run.stdout.trim().split('\n').pop()!) as Omit<PythonProbe, 'python'>) };
  } catch {
    return { python, error: `its torch probe printed no JSON line: ${JSON.stringify(run.stdout.slice(-200))}` };
  }
  if (cuda && !probe.cuda) probe.error = `its torch ${probe.torch} sees no CUDA device`;
  return probe;
}

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
    const probe = probePython(python, cuda);
    probes.push(probe);
    if (probe.error === undefined) return { python, probes };
  }
  return { python: undefined, probes };
}

/**
 * findPython's answer, or an error saying what to do. On the CPU a missing torch goes through
 * ensurePythonTorch (which may install Debian's python3-torch); for a GPU it cannot, as Debian's
 * build is the CPU one.
 */
export function requirePython(cuda: boolean, installer: TorchInstaller = aptInstaller): string {
  const found = findPython(cuda);
  if (found.python !== undefined) return found.python;
  if (!cuda) return ensurePythonTorch(defaultPython(), installer).python;
  throw new Error(
    `no Python whose torch sees a CUDA device for the Python baseline: ${describeProbes(found.probes)}.\n` +
      'Point INTUITOR_PYTHON at one, e.g. a virtual environment with a CUDA build of torch: INTUITOR_PYTHON=/path/to/venv/bin/python',
  );
}

/** One line per probe, for error messages. */
export const describeProbes = (probes: readonly PythonProbe[]): string =>
  probes.map((p) => `${p.python}: ${p.error ?? `torch ${p.torch}${p.cuda ? `, CUDA (${p.deviceName})` : ''}`}`).join('; ');

/** The Python of the baselines: INTUITOR_PYTHON, else Debian's /usr/bin/python3 (python3-torch: the same libtorch as the addon). */
export const defaultPython = (env: NodeJS.ProcessEnv = process.env): string => env.INTUITOR_PYTHON || '/usr/bin/python3';

export const aptInstallCommand = 'apt-get update && apt-get install -y --no-install-recommends python3-torch';

/** How a missing torch can be installed; tests pass their own so that nothing is installed. */
export interface TorchInstaller {
  /** undefined when `python` can get torch by installing it here, else why not */
  whyNot(python: string): string | undefined;
  /** installs it; throws when that fails */
  install(): void;
}

/**
 * Debian's python3-torch with apt-get: only for the system Python (apt installs nowhere else), as
 * root, where apt-get exists, and unless INTUITOR_BENCH_APT=0.
 */
export const aptInstaller: TorchInstaller = {
  whyNot(python) {
    if (process.env.INTUITOR_BENCH_APT === '0') return 'INTUITOR_BENCH_APT=0 turns automatic installing off';
    if (!isSystemPython(python)) return `${python} is not Debian's system Python, into which apt-get installs`;
    if (process.getuid?.() !== 0) return 'installing with apt-get needs root';
    if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return 'apt-get is not available';
    return undefined;
  },
  install() {
    const run = spawnSync('sh', ['-c', aptInstallCommand], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run.error || run.status !== 0) throw new Error(`\`${aptInstallCommand}\` failed (${run.error?.message ?? describeExit(run.status, run.signal)}); see its output above`);
  },
};

function isSystemPython(python: string): boolean {
  try {
    return realpathSync(python).startsWith('/usr/bin/');
  } catch {
    return false;
  }
}

/** Pythons whose torch imported, so that every baseline of a run pays for the probe once. */
const checkedPythons = new Map<string, PythonProbe>();

/**
 * Makes sure `python` can import torch before a baseline starts: installs Debian's python3-torch
 * (saying so first) when `installer` can, else fails with the command to run or the variable to set.
 */
export function ensurePythonTorch(python: string = defaultPython(), installer: TorchInstaller = aptInstaller): PythonProbe {
  const known = checkedPythons.get(python);
  if (known) return known;
  let probe = probePython(python);
  if (probe.error !== undefined) {
    const whyNot = installer.whyNot(python);
    if (whyNot !== undefined) throw new Error(missingTorchMessage(probe, whyNot));
    progress(`${python} cannot import torch (${probe.error}); installing Debian's python3-torch for the Python baseline: ${aptInstallCommand}`);
    installer.install();
    probe = probePython(python);
    if (probe.error !== undefined) throw new Error(`${python} still cannot import torch after installing python3-torch: ${probe.error}`);
  }
  checkedPythons.set(python, probe);
  return probe;
}

function missingTorchMessage(probe: PythonProbe, whyNot: string): string {
  const python = probe.python;
  const given = process.env.INTUITOR_PYTHON === python ? `INTUITOR_PYTHON=${python}` : python;
  const fixes =
    given === python
      ? `Install Debian's build of PyTorch (the same libtorch as the addon):\n  sudo apt-get install -y python3-torch\n` +
        'or point INTUITOR_PYTHON at a Python that has torch: INTUITOR_PYTHON=/path/to/venv/bin/python npm run bench:...'
      : `Install torch into it (${python} -m pip install torch), or unset INTUITOR_PYTHON to use /usr/bin/python3 with\n` +
        `Debian's python3-torch:\n  sudo apt-get install -y python3-torch`;
  return `the Python baseline needs PyTorch, but ${given} cannot import torch: ${probe.error}\n(not installed automatically: ${whyNot})\n${fixes}`;
}

/** "exited with code 1", "was killed by SIGKILL". */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** How many of a dead child's last stderr lines its error quotes. */
export const stderrTailLines = 40;

/** A running bench/*.py: its process, and an error that tells how it died once it has. */
export interface PythonChild {
  readonly child: ChildProcess;
  readonly python: string;
  /** resolves when the process is gone (or never started) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>;
  /** after its output ended: `bench/<script> (<python>) exited with code 1 <doing>`, its stdin trouble and its stderr's last lines */
  failure(doing: string): Promise<Error>;
}

/**
 * The one way bench runners start Python: `python bench/<script> ...args`, after ensurePythonTorch.
 * Its stderr shows as it comes (tracebacks, warnings) and its last lines are kept for failure().
 */
export function spawnPython(script: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; python?: string; stdin?: 'pipe' | 'ignore'; cwd?: string; installer?: TorchInstaller }): PythonChild {
  const python = options.python ?? defaultPython(options.env);
  ensurePythonTorch(python, options.installer);
  const child = spawn(python, [benchFile(script), ...args], { env: options.env, cwd: options.cwd, stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'] });
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = lastLines(tail + String(chunk), stderrTailLines);
  });
  let stdinError: Error | undefined;
  child.stdin?.on('error', (e) => (stdinError ??= e)); // a broken pipe shows as the end of its output
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const failure = async (doing: string): Promise<Error> => {
    const end = await exited;
    if (end.spawnError) return new Error(`bench/${script} could not start ${python}: ${end.spawnError.message}`);
    const how = describeExit(end.code, end.signal);
    const pipe = stdinError ? ` (writing to it failed: ${stdinError.message})` : '';
    const said = tail.trim() === '' ? 'it printed nothing on stderr' : `the last lines of its stderr:\n${tail.trimEnd().replace(/^/gm, '  | ')}`;
    return new Error(`bench/${script} (${python}) ${how} ${doing}${pipe}; ${said}`);
  };
  return { child, python, exited, failure };
}

/** The last `n` lines of `text` (a trailing partial line counts as one). */
export function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  const keep = text.endsWith('\n') ? n + 1 : n; // the empty piece after a final newline is not a line
  return lines.length > keep ? lines.slice(-keep).join('\n') : text;
}

/** `python bench/<name> '<settings JSON>'` (default INTUITOR_PYTHON, else /usr/bin/python3), answering one JSON line per JSON command line. */
export class PythonSide {
  readonly #py: PythonChild;
  readonly #lines: AsyncIterator<string>;
  readonly #name: string;
  readonly #commandChars: number | undefined;

  /** `commandChars`: how much of a failed command the error message quotes (all of it if undefined). */
  constructor(name: string, settings: unknown, env: NodeJS.ProcessEnv, commandChars?: number, python = defaultPython(env), installer?: TorchInstaller) {
    this.#name = name;
    this.#commandChars = commandChars;
    this.#py = spawnPython(name, [JSON.stringify(settings)], { env, python, ...(installer ? { installer } : {}) });
    this.#lines = createInterface({ input: this.#py.child.stdout! })[Symbol.asyncIterator]();
  }

  async call<T>(command: Record<string, unknown>): Promise<T> {
    this.#py.child.stdin!.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.#lines.next();
    const shown = () => JSON.stringify(command).slice(0, this.#commandChars);
    if (done) throw await this.#py.failure(`while answering ${shown()}`);
    try {
      return JSON.parse(value) as T;
    } catch {
      throw new Error(`bench/${this.#name} answered ${shown()} with a line that is not JSON: ${JSON.stringify(value.slice(0, 300))}`);
    }
  }

  async close(): Promise<void> {
    const { child } = this.#py;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    this.#py.child.stdin!.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await this.#py.exited;
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
