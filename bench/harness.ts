// Shared plumbing of the bench/*.ts runners: command-line rounds, timing and median helpers, the
// Python child (bench/*.py, spoken to one JSON line per command), the BLAS/OpenMP environment both
// sides must share, the pause between turns, and table/JSON output helpers. See bench/README.md.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as torch from '../src/torch/index.ts';

export const argv = process.argv.slice(2);
export const quick = argv.includes('--quick');

/** `--rounds N`, else `quickRounds` with --quick, else `fullRounds`. */
export function parseRounds(quickRounds: number, fullRounds: number): number {
  const roundsArg = argv.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(argv[roundsArg + 1]) : quick ? quickRounds : fullRounds;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${argv[roundsArg + 1]}`);
  return rounds;
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

/** The absolute path of a file in bench/. */
export const benchFile = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

/** `/usr/bin/python3 bench/<name> '<settings JSON>'`, answering one JSON line per JSON command line. */
export class PythonSide {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #name: string;
  readonly #commandChars: number | undefined;

  /** `commandChars`: how much of a failed command the error message quotes (all of it if undefined). */
  constructor(name: string, settings: unknown, env: NodeJS.ProcessEnv, commandChars?: number) {
    this.#name = name;
    this.#commandChars = commandChars;
    this.#child = spawn('/usr/bin/python3', [benchFile(name), JSON.stringify(settings)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.pipe(process.stderr); // Python's tracebacks and warnings show as they come
    this.#child.stdin.on('error', () => {}); // a dead child shows as the end of its output, reported by call()
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async call<T>(command: Record<string, unknown>): Promise<T> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.#lines.next();
    if (done) {
      const shown = JSON.stringify(command).slice(0, this.#commandChars);
      throw new Error(`bench/${this.#name} exited (code ${this.#child.exitCode}) while answering ${shown}: see its error above`);
    }
    return JSON.parse(value) as T;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
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

/** Prints a header, a rule and the rows: the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}
