// Threads, runtime information and CUDA detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import * as torch from '../../src/torch/index.ts';

test('threads: a default for the cores, settable, and validated', () => {
  const initial = torch.getNumThreads();
  assert.equal(initial, torch.defaultNumThreads());
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  assert.throws(() => torch.setNumThreads(0), { message: /^setNumThreads: the number of threads must be at least 1, got 0/ });
  torch.setNumThreads(initial);
  assert.equal(torch.getNumThreads(), initial);
});

test('default thread count: INTUITOR_NUM_THREADS, then OMP_NUM_THREADS, then the available cores', () => {
  assert.equal(torch.defaultNumThreads({ INTUITOR_NUM_THREADS: '3', OMP_NUM_THREADS: '5' }), 3);
  assert.equal(torch.defaultNumThreads({ OMP_NUM_THREADS: '5' }), 5);
  assert.equal(torch.defaultNumThreads({}), availableParallelism());
  assert.throws(() => torch.defaultNumThreads({ INTUITOR_NUM_THREADS: 'many' }), /INTUITOR_NUM_THREADS=many is not a positive integer/);
});

test('runtime information describes the linked libtorch', () => {
  const info = torch.runtimeInfo();
  assert.match(info.torchVersion, /^\d+\.\d+\.\d+/);
  assert.equal(typeof info.cuda, 'boolean');
  assert.equal(info.cudaDevices > 0, info.cuda);
  assert.equal(torch.cuda.isAvailable(), info.cuda);
  assert.equal(torch.cuda.deviceCount(), info.cudaDevices);
  assert.match(info.parallelInfo, /ATen\/Parallel/);
  assert.ok(['user', 'chosen', 'detected'].includes(info.blasCoretypeSource));
});

test('the same computation on the same seed gives the same numbers with 1 and 2 threads', () => {
  const initial = torch.getNumThreads();
  const run = (threads: number) => {
    torch.setNumThreads(threads);
    return torch.scope(() => {
      const g = new torch.Generator(11);
      const x = torch.randn([64, 96], { generator: g });
      const w = torch.randn([96, 32], { generator: g });
      return Array.from(x.matmul(w).softmax(-1).sum(0).toFloat32Array());
    });
  };
  const one = run(1);
  const two = run(2);
  torch.setNumThreads(initial);
  for (let i = 0; i < one.length; i++) assert.ok(Math.abs(one[i]! - two[i]!) < 1e-5, `column ${i}: ${one[i]} vs ${two[i]}`);
});
