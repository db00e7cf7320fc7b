// Distributed data parallelism: PyTorch's c10d process groups (Gloo on CPU, NCCL on CUDA when the
// addon was built against a CUDA libtorch with NCCL), as `torch.distributed`.
//
//   const rdv = torch.distributed.rendezvousFromEnv();            // torchrun's variables, if any
//   using pg = torch.distributed.initProcessGroup({ ...rdv, backend: 'gloo' });
//   pg.allReduce(grads, { op: 'avg' });                            // in place, bucketed
//
// Every call is synchronous: it returns when this rank's part is done, or throws within the
// group's timeout (a dead or missing rank is an Error, never a hang). Every rank must call the
// same collectives, in the same order, with tensors of the same shapes and dtypes.

import { createServer } from 'node:net';
import { native, type NativeHandle, type ProcessGroupHandle } from './native.ts';
import { Tensor, wrap } from './tensor.ts';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

/** PyTorch DDP's default bucket: large enough to amortise each collective's latency. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export interface InitProcessGroupOptions {
  /** 'gloo' (CPU tensors; the default) or 'nccl' (CUDA tensors) */
  backend?: Backend;
  rank: number;
  worldSize: number;
  /** where rank 0 hosts the rendezvous (default '127.0.0.1') */
  masterAddr?: string;
  /** default 29500, torchrun's */
  masterPort?: number;
  /** how long init and each collective may wait for the other ranks (default 300000 = 5 min) */
  timeoutMs?: number;
}

export interface AllReduceOptions {
  /** 'avg' is sum / worldSize (floating-point tensors only) */
  op?: ReduceOp;
  /** tensors of one dtype and device are flattened into buckets of about this size (default 25 MiB) */
  bucketBytes?: number;
}

/** The rendezvous torchrun (or any launcher) describes in the environment. */
export interface Rendezvous {
  rank: number;
  worldSize: number;
  /** this process's index on its machine: the CUDA device to use */
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

/** Which backends this build of the addon has. */
export function availableBackends(): { gloo: boolean; nccl: boolean } {
  return native.distBackends();
}

function isInteger(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Joins (rank 0: hosts) the rendezvous at masterAddr:masterPort and connects every rank to every
 * other. Blocks until all worldSize ranks have joined, or throws after timeoutMs.
 */
export function initProcessGroup(options: InitProcessGroupOptions): ProcessGroup {
  const { backend = 'gloo', rank, worldSize, masterAddr = '127.0.0.1', masterPort = 29500, timeoutMs = 300_000 } = options;
  if (backend !== 'gloo' && backend !== 'nccl') throw new TypeError(`initProcessGroup: backend must be 'gloo' or 'nccl', got ${JSON.stringify(backend)}`);
  if (!isInteger(worldSize, 1)) throw new TypeError(`initProcessGroup: worldSize must be a positive integer, got ${String(worldSize)}`);
  if (!isInteger(rank, 0)) throw new TypeError(`initProcessGroup: rank must be a non-negative integer, got ${String(rank)}`);
  if (rank >= worldSize) throw new RangeError(`initProcessGroup: rank ${rank} is out of range for worldSize ${worldSize} (ranks are 0..${worldSize - 1})`);
  if (typeof masterAddr !== 'string' || masterAddr.trim() === '') throw new TypeError(`initProcessGroup: masterAddr must be a host name or address, got ${JSON.stringify(masterAddr)}`);
  if (!isInteger(masterPort, 1, 65535)) throw new RangeError(`initProcessGroup: masterPort must be an integer in 1..65535, got ${String(masterPort)}`);
  if (!isInteger(timeoutMs, 1)) throw new RangeError(`initProcessGroup: timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
  return new ProcessGroup(native.distInit(backend, rank, worldSize, masterAddr, masterPort, timeoutMs));
}

function envInteger(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = env[name]!.trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isInteger(value, min, max)) throw new Error(`${name}=${JSON.stringify(env[name])} is not ${min === 0 ? 'a non-negative' : 'a positive'} integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}`);
  return value;
}

/**
 * Reads torchrun's MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK. Undefined when
 * neither RANK nor WORLD_SIZE is set (not launched as part of a job); an Error naming the variable
 * when one is malformed or only one of the two is set. MASTER_ADDR/MASTER_PORT default to
 * 127.0.0.1:29500 and LOCAL_RANK to RANK (one machine).
 */
export function rendezvousFromEnv(env: NodeJS.ProcessEnv = process.env): Rendezvous | undefined {
  const set = (name: string): boolean => env[name] !== undefined && env[name] !== '';
  if (!set('RANK') && !set('WORLD_SIZE')) return undefined;
  if (!set('RANK') || !set('WORLD_SIZE')) throw new Error(`${set('RANK') ? 'RANK' : 'WORLD_SIZE'} is set but ${set('RANK') ? 'WORLD_SIZE' : 'RANK'} is not: set both, or neither`);
  const worldSize = envInteger(env, 'WORLD_SIZE', 1);
  const rank = envInteger(env, 'RANK', 0);
  if (rank >= worldSize) throw new Error(`RANK=${rank} is out of range for WORLD_SIZE=${worldSize} (ranks are 0..${worldSize - 1})`);
  const localRank = set('LOCAL_RANK') ? envInteger(env, 'LOCAL_RANK', 0) : rank;
  const masterAddr = set('MASTER_ADDR') ? env.MASTER_ADDR!.trim() : '127.0.0.1';
  const masterPort = set('MASTER_PORT') ? envInteger(env, 'MASTER_PORT', 1, 65535) : 29500;
  return { rank, worldSize, localRank, masterAddr, masterPort };
}

function checkTensors(tensors: readonly Tensor[], what: string): NativeHandle[] {
  return tensors.map((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${what}: element ${i} is not a Tensor`);
    if (t.isDisposed) throw new Error(`${what}: tensor ${i} was already disposed`);
    if (!t.isContiguous()) throw new Error(`${what} needs contiguous tensors, but tensor ${i} (shape [${t.shape.join(', ')}]) is not: call .contiguous() first (the result is written in place)`);
    return t.handle;
  });
}

/** One rank's membership of a group of worldSize processes. Release it with destroy() (or `using`). */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  /** @internal */
  readonly handle: ProcessGroupHandle;

  /** @internal use initProcessGroup */
  constructor(handle: ProcessGroupHandle) {
    this.handle = handle;
    const info = native.distInfo(handle);
    this.rank = info.rank;
    this.worldSize = info.worldSize;
    this.backend = info.backend;
  }

  get isDestroyed(): boolean {
    return native.distInfo(this.handle).destroyed;
  }

  /** Reduces each tensor element-wise across ranks, in place, so every rank holds the result. */
  allReduce(tensors: Tensor | readonly Tensor[], options: AllReduceOptions = {}): void {
    const { op = 'sum', bucketBytes = DEFAULT_BUCKET_BYTES } = options;
    if (!['sum', 'avg', 'max', 'min'].includes(op)) throw new TypeError(`allReduce: op must be 'sum', 'avg', 'max' or 'min', got ${JSON.stringify(op)}`);
    if (!isInteger(bucketBytes, 1)) throw new RangeError(`allReduce: bucketBytes must be a positive integer, got ${String(bucketBytes)}`);
    const handles = checkTensors(tensors instanceof Tensor ? [tensors] : tensors, 'allReduce');
    native.distAllReduce(this.handle, handles, op, bucketBytes);
  }

  /** Copies src's tensors into every other rank's, in place. */
  broadcast(tensors: Tensor | readonly Tensor[], src = 0): void {
    if (!isInteger(src, 0) || src >= this.worldSize) throw new RangeError(`broadcast: src must be a rank in 0..${this.worldSize - 1}, got ${String(src)}`);
    const handles = checkTensors(tensors instanceof Tensor ? [tensors] : tensors, 'broadcast');
    native.distBroadcast(this.handle, handles, src, DEFAULT_BUCKET_BYTES);
  }

  /** Every rank's `tensor` (same shape and dtype on all), indexed by rank: new tensors. */
  allGather(tensor: Tensor): Tensor[] {
    const [handle] = checkTensors([tensor], 'allGather');
    return native.distAllGather(this.handle, handle).map(wrap);
  }

  /** Returns once every rank has called barrier(). */
  barrier(): void {
    native.distBarrier(this.handle);
  }

  /** Closes this rank's connections and the rendezvous (rank 0). Safe to call twice; any later use is an Error. */
  destroy(): void {
    native.distDestroy(this.handle);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  toString(): string {
    return `ProcessGroup(backend=${this.backend}, rank=${this.rank}, worldSize=${this.worldSize}${this.isDestroyed ? ', destroyed' : ''})`;
  }
}

/** A TCP port nothing listens on now (the OS picks it, then it is closed): for a rendezvous on one machine. */
export function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
