// Data-parallel training over processes (PyTorch c10d: Gloo on CPU, NCCL on CUDA).
//
// Every rank holds the whole model and runs the same loop; what differs is which of the step's
// prompts it rolls out. A prompt's group of G responses never splits across ranks, so group-
// normalised advantages are exactly those of one process. Each rank weights its micro-batch losses
// by their share of the *global* batch, so summing the ranks' gradients (one all-reduce per bucket)
// gives the gradient one process would compute; the optimizer step that follows is then identical
// on every rank, and parameters, broadcast from rank 0 at the start, stay equal without syncing.
//
// `singleProcess` is the same interface with nothing to communicate, so the trainer has one path.

import * as torch from '../torch/index.ts';
import type { ProcessGroup } from '../torch/distributed.ts';

export interface DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  /** only the main rank writes checkpoints, metrics and logs */
  readonly isMain: boolean;
  /** this rank's prompts of a step of `count`: [start, end) */
  shard(count: number): { start: number; end: number };
  /** element-wise sums over ranks */
  sum(values: readonly number[]): number[];
  /** every rank's `values` (equal lengths on all ranks), concatenated in rank order */
  gather(values: readonly number[]): number[];
  /** sums the gradients of `params` over ranks, in place */
  sumGradients(params: readonly torch.Tensor[]): void;
  /** copies rank 0's values of `params` to every rank */
  broadcastParameters(params: readonly torch.Tensor[]): void;
  /** seconds spent communicating so far */
  readonly communicationSeconds: number;
}

/** Rank `rank`'s prompts of a step of `count`: whole prompts (with their groups), equal shares. */
export function shardOf(count: number, rank: number, worldSize: number): { start: number; end: number } {
  if (count % worldSize !== 0) {
    throw new Error(`--prompts-per-step ${count} does not split evenly over ${worldSize} processes: use a multiple of ${worldSize} (a prompt's group of responses stays on one process)`);
  }
  const per = count / worldSize;
  return { start: rank * per, end: (rank + 1) * per };
}

export const singleProcess: DataParallel = {
  rank: 0,
  worldSize: 1,
  isMain: true,
  shard: (count) => ({ start: 0, end: count }),
  sum: (values) => [...values],
  gather: (values) => [...values],
  sumGradients: () => {},
  broadcastParameters: () => {},
  communicationSeconds: 0,
};

/** Gradients travel in buckets of this size: few large messages, bounded extra memory. */
const BUCKET_BYTES = 25 * 2 ** 20;

/** `device`: where this rank computes; NCCL exchanges tensors on that GPU (cuda:LOCAL_RANK; default 'cuda'), Gloo on the CPU. */
export function processGroupParallel(group: ProcessGroup, device?: string): DataParallel {
  let seconds = 0;
  const timed = <T>(fn: () => T): T => {
    const started = performance.now();
    try {
      return fn();
    } finally {
      seconds += (performance.now() - started) / 1000;
    }
  };
  // Small host values travel as float64 tensors: on this rank's GPU for NCCL, which takes only CUDA
  // tensors, and on the CPU for Gloo.
  const where = group.backend === 'nccl' ? (device ?? 'cuda') : 'cpu';
  const exchange = (values: readonly number[], fn: (t: torch.Tensor) => torch.Tensor): number[] =>
    timed(() => torch.scope(() => Array.from(fn(torch.tensor([...values], { dtype: 'float64', device: where })).toFloat64Array())));
  return {
    rank: group.rank,
    worldSize: group.worldSize,
    isMain: group.rank === 0,
    shard: (count) => shardOf(count, group.rank, group.worldSize),
    sum: (values) =>
      exchange(values, (t) => {
        group.allReduce(t, { op: 'sum' });
        return t;
      }),
    gather: (values) => exchange(values, (t) => torch.cat(group.allGather(t), 0)),
    sumGradients(params) {
      torch.scope(() => {
        // Every rank must send the same tensors: a parameter this rank's batch did not reach
        // contributes zeros.
        const grads = params.map((p) => {
          if (p.grad === null) p.grad = torch.zerosLike(p);
          return p.grad!;
        });
        timed(() => group.allReduce(grads, { op: 'sum', bucketBytes: BUCKET_BYTES }));
      });
    },
    broadcastParameters(params) {
      timed(() =>
        torch.noGrad(() =>
          torch.scope(() => {
            // Gloo has no bfloat16 (libtorch 1.13): half-precision weights travel as float32, exactly.
            const sent = params.map((p) => (group.backend === 'gloo' && (p.dtype === 'bfloat16' || p.dtype === 'float16') ? p.float() : p));
            group.broadcast(sent, 0);
            sent.forEach((s, i) => s !== params[i] && params[i]!.copy_(s));
          }),
        ),
      );
    },
    get communicationSeconds() {
      return seconds;
    },
  };
}
