// Engine settings: threads, CUDA, memory counters, and what was linked.

import { availableParallelism } from 'node:os';
import { native, blasEnvironment, nativeLoadError } from './native.ts';

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Sets the threads of ATen's intra-op pool and of OpenBLAS to the same number. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

/**
 * The thread count used at start-up: INTUITOR_NUM_THREADS, else OMP_NUM_THREADS, else the cores
 * this process may use. One pool of that size, never one per library, so nothing oversubscribes.
 */
export function defaultNumThreads(env: NodeJS.ProcessEnv = process.env): number {
  for (const name of ['INTUITOR_NUM_THREADS', 'OMP_NUM_THREADS'] as const) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${value} is not a positive integer`);
    return n;
  }
  return availableParallelism();
}

// Without the addon nothing computes; the first tensor operation says why.
if (nativeLoadError === undefined) setNumThreads(defaultNumThreads());

export interface RuntimeInfo {
  torchVersion: string;
  cuda: boolean;
  cudaDevices: number;
  /** OpenBLAS's kernel family in use ('' when another BLAS is linked) */
  blasCore: string;
  blasConfig: string;
  /** how OPENBLAS_CORETYPE was decided: set by the user, chosen from CPU flags, or left to OpenBLAS */
  blasCoretypeSource: 'user' | 'chosen' | 'detected';
  numThreads: number;
  parallelInfo: string;
}

export function runtimeInfo(): RuntimeInfo {
  return { ...native.runtimeInfo(), blasCoretypeSource: blasEnvironment.source, numThreads: getNumThreads() };
}

export interface MemoryStats {
  /** tensor handles not yet disposed (or garbage-collected) */
  liveTensors: number;
  /** their logical size: elements x element size (views count their own elements) */
  liveBytes: number;
  /** the largest liveBytes seen since start or since resetPeakBytes() */
  peakBytes: number;
  /** the external memory V8 accounts for (tensors report theirs), which drives its GC scheduling */
  v8ExternalBytes: number;
}

export function memoryStats(): MemoryStats {
  return native.memoryStats();
}

export function resetPeakBytes(): void {
  native.resetPeakBytes();
}

export const cuda = {
  /** Whether the linked libtorch has CUDA and a GPU is visible. */
  isAvailable(): boolean {
    return native.runtimeInfo().cuda;
  },
  deviceCount(): number {
    return native.runtimeInfo().cudaDevices;
  },
  /** Waits for all queued work on the current CUDA device (for timing). */
  synchronize(): void {
    native.cudaSynchronize();
  },
};
