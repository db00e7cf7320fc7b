// Optimizers against hand-computed updates (PyTorch's published algorithms), state save/load,
// and the learning-rate schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tolerance})`);
  }
}

// torch.optim.AdamW's update, written out in float64.
function adamwReference(param: number[], grads: number[][], lrs: number[], beta1: number, beta2: number, eps: number, wd: number): number[] {
  const p = [...param];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, t) => {
    const step = t + 1;
    const lr = lrs[t]!;
    for (let i = 0; i < p.length; i++) {
      p[i]! *= 1 - lr * wd;
      m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
      v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const mHat = m[i]! / (1 - beta1 ** step);
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - beta2 ** step) + eps;
      p[i] = p[i]! - lr * mHat / denom;
    }
  });
  return p;
}

test('AdamW matches the hand-computed update over three steps with a changing lr', () => {
  const start = [1.0, -2.0, 0.5, 3.0];
  const grads = [
    [0.1, -0.2, 0.3, 0.0],
    [-0.5, 0.4, 0.01, 2.0],
    [0.2, 0.2, -0.3, -1.0],
  ];
  const lrs = [0.1, 0.05, 0.01];
  const p = torch.tensor(start, { dtype: 'float64', requiresGrad: true });
  const optimizer = new torch.AdamW([p], { lr: lrs[0], betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  grads.forEach((g, t) => {
    optimizer.lr = lrs[t]!;
    p.grad = torch.tensor(g, { dtype: 'float64' });
    optimizer.step();
  });
  assertClose(p.detach().toFloat64Array(), adamwReference(start, grads, lrs, 0.9, 0.95, 1e-8, 0.1), 1e-12, 'param');
  const state = optimizer.stateDict().state[0]!;
  assert.equal(state.step, 3);
  optimizer.dispose();
  p.dispose();
});

test('AdamW skips parameters without a gradient, including their step count', () => {
  const a = torch.tensor([1, 2], { requiresGrad: true });
  const b = torch.tensor([3, 4], { requiresGrad: true });
  const optimizer = new torch.AdamW([a, b], { lr: 0.1 });
  a.grad = torch.tensor([1, 1]);
  optimizer.step();
  assert.deepEqual(Array.from(b.detach().toFloat32Array()), [3, 4]);
  assert.equal(optimizer.stateDict().state[1], null);
  assert.ok(optimizer.stateDict().state[0]!.step === 1);
  optimizer.dispose();
  a.dispose();
  b.dispose();
});

test('AdamW state saved mid-run and loaded into a fresh optimizer continues identically', () => {
  const generator = new torch.Generator(3);
  const init = torch.randn([5, 4], { generator });
  const grads = Array.from({ length: 4 }, () => torch.randn([5, 4], { generator }));
  const a = init.clone().requiresGrad_();
  const optA = new torch.AdamW([a], { lr: 0.01 });
  for (const g of grads.slice(0, 2)) {
    a.grad = g;
    optA.step();
  }
  // A resumed copy: same weights, state loaded from the first.
  const b = a.detach().clone().requiresGrad_();
  const optB = new torch.AdamW([b], { lr: 0.5 });
  optB.loadStateDict(optA.stateDict());
  assert.equal(optB.lr, 0.01);
  for (const g of grads.slice(2)) {
    a.grad = g;
    optA.step();
    b.grad = g;
    optB.step();
  }
  assert.deepEqual(Array.from(b.detach().toFloat32Array()), Array.from(a.detach().toFloat32Array()));
  assert.throws(() => new torch.AdamW([a, b]).loadStateDict(optA.stateDict()), /AdamW state has 1 parameters but this optimizer has 2/);
  for (const t of [init, a, b, ...grads]) t.dispose();
  optA.dispose();
  optB.dispose();
});

test('SGD with momentum, weight decay and Nesterov matches the hand-computed update', () => {
  const start = [1.0, -1.0];
  const grads = [
    [0.5, 0.25],
    [-1.0, 0.5],
  ];
  for (const nesterov of [false, true]) {
    const lr = 0.1, momentum = 0.9, wd = 0.01;
    const p = torch.tensor(start, { dtype: 'float64', requiresGrad: true });
    const optimizer = new torch.SGD([p], { lr, momentum, weightDecay: wd, nesterov });
    const expected = [...start];
    const buffer = [0, 0];
    grads.forEach((g, t) => {
      p.grad = torch.tensor(g, { dtype: 'float64' });
      optimizer.step();
      for (let i = 0; i < 2; i++) {
        const d = g[i]! + wd * expected[i]!;
        buffer[i] = t === 0 ? d : momentum * buffer[i]! + d;
        expected[i] = expected[i]! - lr * (nesterov ? d + momentum * buffer[i]! : buffer[i]!);
      }
    });
    assertClose(p.detach().toFloat64Array(), expected, 1e-12, `sgd nesterov=${nesterov}`);
    optimizer.dispose();
    p.dispose();
  }
});

test('an optimizer step leaves no tensors behind', () => {
  const p = torch.randn([8], { requiresGrad: true });
  const optimizer = new torch.AdamW([p]);
  const sgd = new torch.SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad = torch.ones([8]);
  optimizer.step(); // creates two moments
  sgd.step(); // creates one buffer
  const before = torch.memoryStats().liveTensors;
  optimizer.step();
  sgd.step();
  assert.equal(torch.memoryStats().liveTensors, before);
  optimizer.dispose();
  sgd.dispose();
  p.dispose();
});

test('cosine schedule with warmup', () => {
  const options = { peakLr: 1e-3, totalSteps: 110, warmupSteps: 10 };
  assert.equal(torch.cosineWithWarmup(0, options), 0);
  assert.equal(torch.cosineWithWarmup(5, options), 5e-4);
  assert.equal(torch.cosineWithWarmup(10, options), 1e-3);
  assert.ok(Math.abs(torch.cosineWithWarmup(60, options) - 5e-4) < 1e-15);
  assert.ok(Math.abs(torch.cosineWithWarmup(110, options)) < 1e-15);
  assert.ok(Math.abs(torch.cosineWithWarmup(110, { ...options, minLr: 1e-4 }) - 1e-4) < 1e-15);
});
