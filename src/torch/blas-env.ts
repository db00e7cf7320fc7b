// Settles the environment that BLAS and OpenMP read once, when they load: call before the addon.
//
// 1. Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernels from the CPU model.
//    On recent Xeon and EPYC models it does not recognise, it falls back to a generic kernel that
//    is 5-6x slower. We set OPENBLAS_CORETYPE from the CPU's instruction-set flags.
// 2. ATen's OpenMP threads and OpenBLAS's own pthreads take turns on the same cores. By default
//    idle OpenMP threads spin for milliseconds after each parallel region, starving the BLAS
//    threads that run next (a small training loop ran 10x slower on 2 busy cores). A passive
//    wait policy makes idle OpenMP threads sleep instead.
// A value the user already set is never overridden.

import { readFileSync } from 'node:fs';

export interface BlasEnvironment {
  /** the value in force: set by the user, chosen here, or undefined (OpenBLAS detects) */
  coretype: string | undefined;
  source: 'user' | 'chosen' | 'detected';
  /** OMP_WAIT_POLICY in force */
  ompWaitPolicy: string;
}

/** The OpenBLAS core type whose kernels this CPU runs correctly and fast, or undefined to let OpenBLAS decide. */
export function coretypeForFlags(flags: ReadonlySet<string>): string | undefined {
  const avx512 = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f));
  if (avx512) return 'SKYLAKEX';
  if (flags.has('avx2') && flags.has('fma')) return 'HASWELL';
  // Older or non-x86 CPUs: OpenBLAS's own detection handles the models it was built to know.
  return undefined;
}

/** The flags of the first processor listed in /proc/cpuinfo (x86 "flags"; empty elsewhere). */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.replace(/^flags\s*:/, '').trim().split(/\s+/) : []);
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Sets OPENBLAS_CORETYPE (when the CPU's flags call for one) and OMP_WAIT_POLICY in `env` where unset. Call before loading the addon. */
export function configureBlasEnvironment(env: NodeJS.ProcessEnv = process.env, cpuinfo: string = readCpuinfo()): BlasEnvironment {
  // process.env assignment calls setenv(3), so the C libraries see it when they initialise.
  if (!env.OMP_WAIT_POLICY) env.OMP_WAIT_POLICY = 'PASSIVE';
  const ompWaitPolicy = env.OMP_WAIT_POLICY;
  const preset = env.OPENBLAS_CORETYPE;
  if (preset !== undefined && preset !== '') return { coretype: preset, source: 'user', ompWaitPolicy };
  const chosen = coretypeForFlags(cpuFlags(cpuinfo));
  if (chosen === undefined) return { coretype: undefined, source: 'detected', ompWaitPolicy };
  env.OPENBLAS_CORETYPE = chosen;
  return { coretype: chosen, source: 'chosen', ompWaitPolicy };
}
