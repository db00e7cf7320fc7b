// MixedPrecisionAdamW and GradScaler: float32 masters receive exactly the update float32 AdamW
// makes from the same gradients, and the bfloat16 weights are those masters rounded; an update of
// 1e-4 of a weight survives (AdamW over bfloat16 weights loses it, and warns); micro-batch
// gradients add up in float32; float16 loss scaling with synthetic gradients on the CPU (an
// underflowing gradient recovered, Inf/NaN steps skipped, PyTorch's back-off and growth rule);
// state saved mid-run continues bit for bit, and only with its masters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';

const changedFraction = (a: Float32Array, b: Float32Array) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0) / a.length;

/** Catches the process warnings emitted while fn runs. */
async function warningsDuring(fn: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (w: Error) => seen.push(w);
  process.on('warning', listener);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve)); // warnings are delivered on the next tick
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

test('bfloat16 with float32 masters: the master takes float32 AdamW\'s exact update, the weight is the rounded master', () => {
  const generator = new torch.Generator(5);
  // Start values that bfloat16 holds exactly, so both runs start at the same point.
  const start = torch.randn([64, 32], { generator }).to('bfloat16').keep();
  const grads = Array.from({ length: 3 }, () => torch.randn([64, 32], { generator }).to('bfloat16').keep());
  const w16 = start.clone().requiresGrad_();
  const w32 = start.float().requiresGrad_();
  const mixed = new torch.MixedPrecisionAdamW([w16], { lr: 1e-3, weightDecay: 0.01 });
  const plain = new torch.AdamW([w32], { lr: 1e-3, weightDecay: 0.01 });
  for (const g of grads) {
    w16.grad = g;
    mixed.accumulateGradients();
    w32.grad = g.float();
    assert.equal(mixed.step(), true);
    plain.step();
    mixed.zeroGrad();
    plain.zeroGrad();
  }
  const master = mixed.masters[0]!;
  assert.equal(master.dtype, 'float32');
  assert.deepEqual(master.bytes(), w32.detach().bytes(), 'the master is bit for bit float32 AdamW');
  assert.deepEqual(w16.detach().bytes(), master.detach().to('bfloat16').bytes(), 'the weight is the master rounded');
  const state = mixed.stateDict().adamw.state[0]!;
  assert.equal(state.expAvg.dtype, 'float32');
  assert.equal(state.expAvgSq.dtype, 'float32');
  assert.equal(state.step, 3);
  mixed.dispose();
  plain.dispose();
  for (const t of [start, ...grads, w16, w32]) t.dispose();
});

test('an update of 1e-4 of each weight is kept by the masters and lost by AdamW over bfloat16 weights (which warns)', async () => {
  // Weights near 1 (where bfloat16's last place is 2^-7, so half of it is 0.4%) and lr 1e-4: AdamW's
  // first update is lr x sign(grad), a relative change of 1e-4.
  const generator = new torch.Generator(6);
  const start = torch.rand([4096], { generator }).add(1).to('bfloat16').keep(); // [1, 2)
  const grad = torch.randn([4096], { generator }).keep();
  const run = (kind: 'float32' | 'mixed' | 'pure') => {
    const w = (kind === 'float32' ? start.float() : start.clone()).requiresGrad_();
    const optimizer = kind === 'mixed' ? new torch.MixedPrecisionAdamW([w], { lr: 1e-4, weightDecay: 0 }) : new torch.AdamW([w], { lr: 1e-4, weightDecay: 0 });
    const steps: Float32Array[] = [];
    for (let i = 0; i < 100; i++) {
      w.grad = grad.to(w.dtype);
      if (optimizer instanceof torch.MixedPrecisionAdamW) optimizer.accumulateGradients();
      optimizer.step();
      optimizer.zeroGrad();
      steps.push(optimizer instanceof torch.MixedPrecisionAdamW ? optimizer.masters[0]!.toFloat32Array() : w.detach().toFloat32Array());
    }
    const weights = w.detach().toFloat32Array();
    optimizer.dispose();
    w.dispose();
    return { afterOne: steps[0]!, weights };
  };
  const initial = start.toFloat32Array();
  const f32 = run('float32');
  const mixed = run('mixed');
  let pure!: ReturnType<typeof run>;
  const warnings = await warningsDuring(() => (pure = run('pure')));
  assert.ok(warnings.some((w) => (w as { code?: string }).code === 'INTUITOR_LOW_PRECISION_ADAMW' && /bfloat16 parameters.*rounded away.*MixedPrecisionAdamW/.test(w.message)), 'AdamW over bfloat16 weights warns');
  // One step: float32 changes every weight; so do the masters; the pure bfloat16 run none.
  assert.equal(changedFraction(f32.afterOne, initial), 1);
  assert.equal(changedFraction(mixed.afterOne, initial), 1);
  assert.equal(changedFraction(pure.afterOne, initial), 0);
  // 100 steps (about 1% of each weight, above bfloat16's spacing): the mixed run's weights are the
  // float32 run's rounded to bfloat16 (within one rounding step where the two straddle a boundary),
  // while the pure run never moved.
  const rounded = torch.tensor(f32.weights).to('bfloat16').toFloat32Array();
  const moved = changedFraction(mixed.weights, initial);
  assert.ok(moved > 0.95, `mixed: ${moved} of the weights moved after 100 steps`);
  mixed.weights.forEach((v, i) => assert.ok(Math.abs(v - rounded[i]!) <= 2 ** -7 * 2, `weight ${i}: ${v} vs float32 ${f32.weights[i]}`));
  assert.equal(changedFraction(pure.weights, initial), 0, 'AdamW over bfloat16 weights rounded every update away');
  start.dispose();
  grad.dispose();
});

test('micro-batch gradients are added up in float32 and the bfloat16 gradients freed', () => {
  const w = torch.ones([3], { dtype: 'bfloat16', requiresGrad: true });
  const optimizer = new torch.MixedPrecisionAdamW([w], { lr: 0.1 });
  // 1 + 2^-9 is not a bfloat16 number: summed in bfloat16 the second gradient would round to 1 + 0.
  for (const c of [1, 2 ** -9]) {
    torch.scope(() => optimizer.backward(w.mul(torch.tensor([c, c, c], { dtype: 'bfloat16' })).sum()));
    assert.equal(w.grad, null, 'the bfloat16 gradient is moved into the master');
  }
  assert.deepEqual(Array.from(optimizer.masters[0]!.grad!.toFloat32Array()), [1 + 2 ** -9, 1 + 2 ** -9, 1 + 2 ** -9]);
  optimizer.dispose();
  w.dispose();
});

test('float32 parameters are their own masters: exactly AdamW, no copies', () => {
  const a = torch.tensor([1, -2, 3], { requiresGrad: true });
  const b = a.detach().clone().requiresGrad_();
  const mixed = new torch.MixedPrecisionAdamW([a], { lr: 0.1 });
  const plain = new torch.AdamW([b], { lr: 0.1 });
  assert.equal(mixed.masters[0], a);
  assert.equal(mixed.scaler, undefined);
  for (const g of [[1, 2, 3], [-1, 0.5, 2]]) {
    mixed.backward(a.mul(torch.tensor(g)).sum());
    b.grad = torch.tensor(g);
    assert.ok(Math.abs(mixed.clipGradNorm(100) - Math.hypot(...g)) < 1e-5);
    mixed.step();
    plain.step();
    mixed.zeroGrad();
    plain.zeroGrad();
  }
  assert.deepEqual(a.detach().bytes(), b.detach().bytes());
  assert.deepEqual(mixed.stateDict().masters, [null]);
  mixed.dispose();
  plain.dispose();
  a.dispose();
  b.dispose();
});

test('master weights can start from float32 values; the bfloat16 weights are set to them rounded', () => {
  const full = torch.tensor([1 + 2 ** -10, -3.14159, 0.1]);
  const w = full.to('bfloat16').requiresGrad_();
  const optimizer = new torch.MixedPrecisionAdamW([w], { masters: [full] });
  assert.deepEqual(optimizer.masters[0]!.bytes(), full.bytes());
  assert.notEqual(optimizer.masters[0], full, 'copied, not adopted');
  assert.deepEqual(w.detach().bytes(), full.to('bfloat16').bytes());
  assert.throws(() => new torch.MixedPrecisionAdamW([w], { masters: [torch.zeros([2])] }), /master weight 0 has shape \[2\] but the parameter has \[3\]/);
  assert.throws(() => new torch.MixedPrecisionAdamW([w], { masters: [] }), /0 master weights given for 1 parameters/);
  optimizer.dispose();
  w.dispose();
  full.dispose();
});

test('GradScaler follows PyTorch\'s rule: back off x0.5 on Inf/NaN, grow x2 after growthInterval clean steps', () => {
  const defaults = new torch.GradScaler();
  assert.deepEqual([defaults.scale, defaults.growthFactor, defaults.backoffFactor, defaults.growthInterval], [65536, 2, 0.5, 2000]);
  const scaler = new torch.GradScaler({ initScale: 8, growthInterval: 3 });
  scaler.update(false);
  scaler.update(false);
  assert.deepEqual(scaler.stateDict(), { scale: 8, growthTracker: 2 });
  scaler.update(true); // an overflow resets the count
  assert.deepEqual(scaler.stateDict(), { scale: 4, growthTracker: 0 });
  for (let i = 0; i < 3; i++) scaler.update(false);
  assert.deepEqual(scaler.stateDict(), { scale: 8, growthTracker: 0 });
  const huge = new torch.GradScaler({ initScale: Number.MAX_VALUE, growthInterval: 1 });
  huge.update(false);
  assert.equal(huge.scale, Number.MAX_VALUE, 'it grows only to a finite scale');
  const copy = new torch.GradScaler();
  copy.loadStateDict(scaler.stateDict());
  assert.deepEqual(copy.stateDict(), scaler.stateDict());
  assert.throws(() => copy.loadStateDict({ scale: -1, growthTracker: 0 }), /positive finite scale/);
  assert.throws(() => new torch.GradScaler({ backoffFactor: 1 }), /backoffFactor must be in \(0, 1\), got 1/);
  assert.throws(() => new torch.GradScaler({ growthInterval: 0.5 }), /growthInterval must be a positive integer/);
});

test('float16 loss scaling recovers a gradient that underflows float16 (1e-8), unscaled in float32', () => {
  // d loss / d w = 1e-4 x 1e-4 = 1e-8, below float16's smallest subnormal (6e-8): without a scale it is 0.
  const lossOf = (w: torch.Tensor) => w.mul(1e-4).sum().float().mul(1e-4);
  const gradient = (lossScaling: boolean) => {
    const w = torch.ones([4], { dtype: 'float16', requiresGrad: true });
    const optimizer = new torch.MixedPrecisionAdamW([w], { lossScaling, lr: 1e-3 });
    torch.scope(() => optimizer.backward(lossOf(w)));
    optimizer.clipGradNorm(1e9); // unscales
    const g = optimizer.masters[0]!.grad!.toFloat32Array();
    optimizer.dispose();
    w.dispose();
    return g;
  };
  assert.deepEqual(Array.from(gradient(false)), [0, 0, 0, 0], 'without loss scaling the gradient underflows');
  for (const g of gradient(true)) assert.ok(Math.abs(g - 1e-8) < 1e-8 * 2e-3, `scaled and unscaled: ${g}`);
  const w = torch.ones([4], { dtype: 'float16', requiresGrad: true });
  const optimizer = new torch.MixedPrecisionAdamW([w]);
  assert.ok(optimizer.scaler, 'float16 parameters get loss scaling by default');
  assert.equal(optimizer.lossScale, 65536);
  optimizer.dispose();
  w.dispose();
});

test('a float16 step with an Inf or NaN gradient is skipped (weights, masters, moments untouched) and the scale backs off', () => {
  const w = torch.tensor([1, 2, 3, 4], { dtype: 'float16', requiresGrad: true });
  const other = torch.tensor([5, 6], { dtype: 'float16', requiresGrad: true });
  const optimizer = new torch.MixedPrecisionAdamW([w, other], { lr: 0.1, lossScaling: { initScale: 1024, growthInterval: 2 } });
  const before = [w.detach().bytes(), other.detach().bytes(), optimizer.masters[0]!.bytes()];
  for (const bad of [Infinity, NaN]) {
    w.grad = torch.tensor([1, bad, 1, 1], { dtype: 'float16' }); // as backward would leave them: scaled
    other.grad = torch.tensor([1, 1], { dtype: 'float16' });
    optimizer.accumulateGradients();
    assert.ok(!Number.isFinite(optimizer.clipGradNorm(1)), 'the norm shows the non-finite gradient');
    assert.equal(optimizer.step(), false);
    optimizer.zeroGrad();
    assert.deepEqual([w.detach().bytes(), other.detach().bytes(), optimizer.masters[0]!.bytes()], before);
    assert.deepEqual(optimizer.stateDict().adamw.state, [null, null], 'no moment and no step count was made');
  }
  assert.equal(optimizer.lossScale, 256);
  // Two clean steps: applied, then the scale grows back.
  for (let i = 0; i < 2; i++) {
    w.grad = torch.full([4], 256, { dtype: 'float16' }); // true gradient 1
    other.grad = torch.full([2], 256, { dtype: 'float16' });
    optimizer.accumulateGradients();
    assert.ok(Math.abs(optimizer.clipGradNorm(100) - Math.sqrt(6)) < 1e-6, 'the norm is of the unscaled gradients');
    assert.equal(optimizer.step(), true);
    optimizer.zeroGrad();
  }
  assert.equal(optimizer.lossScale, 512);
  assert.equal(optimizer.stateDict().adamw.state[0]!.step, 2);
  assert.notDeepEqual(w.detach().bytes(), before[0]);
  assert.throws(() => {
    w.grad = torch.ones([4], { dtype: 'float16' });
    optimizer.accumulateGradients();
    optimizer.clipGradNorm(1);
    optimizer.backward(w.sum());
  }, /backward\(\) after clipGradNorm\(\) and before step\(\)/);
  optimizer.dispose();
  w.dispose();
  other.dispose();
});

test('state saved mid-run continues bit for bit with its masters, and not without them', () => {
  const generator = new torch.Generator(8);
  const start = torch.randn([16, 8], { generator }).keep();
  const grads = Array.from({ length: 6 }, () => torch.randn([16, 8], { generator }).mul(1e-3).to('bfloat16').keep());
  const stepWith = (optimizer: torch.MixedPrecisionAdamW, w: torch.Tensor, g: torch.Tensor) => {
    w.grad = g;
    optimizer.accumulateGradients();
    optimizer.clipGradNorm(1);
    optimizer.step();
    optimizer.zeroGrad();
  };
  const a = start.to('bfloat16').requiresGrad_();
  const optA = new torch.MixedPrecisionAdamW([a], { lr: 1e-4, masters: [start] });
  for (const g of grads.slice(0, 3)) stepWith(optA, a, g);
  // Resumed copies: the saved (rounded) weights; one gets the saved masters, the other only the moments.
  const saved = optA.stateDict();
  const b = a.detach().clone().requiresGrad_();
  const optB = new torch.MixedPrecisionAdamW([b], { lr: 0.5 });
  optB.loadStateDict(saved);
  assert.equal(optB.lr, 1e-4);
  const c = a.detach().clone().requiresGrad_();
  const optC = new torch.MixedPrecisionAdamW([c], { lr: 0.5 });
  optC.loadStateDict({ adamw: saved.adamw });
  for (const g of grads.slice(3)) {
    stepWith(optA, a, g);
    stepWith(optB, b, g);
    stepWith(optC, c, g);
  }
  assert.deepEqual(optB.masters[0]!.bytes(), optA.masters[0]!.bytes());
  assert.deepEqual(b.detach().bytes(), a.detach().bytes());
  assert.notDeepEqual(optC.masters[0]!.bytes(), optA.masters[0]!.bytes(), 'masters re-derived from the rounded weights part from the unbroken run');
  assert.throws(() => optB.loadStateDict({ ...saved, masters: [null, null] }), /2 master weights but this optimizer has 1 parameters/);
  for (const o of [optA, optB, optC]) o.dispose();
  for (const t of [start, ...grads, a, b, c]) t.dispose();
});

test('a mixed-precision step leaves no tensors behind, and dispose frees the masters', () => {
  const before = torch.memoryStats().liveTensors;
  const full = torch.randn([8]);
  const w = full.to('float16').requiresGrad_();
  const optimizer = new torch.MixedPrecisionAdamW([w], { masters: [full] });
  full.dispose();
  assert.equal(torch.memoryStats().liveTensors, before + 2, 'the parameter and its master');
  const step = () => {
    torch.scope(() => optimizer.backward(w.float().square().sum()));
    optimizer.clipGradNorm(1);
    optimizer.step();
    optimizer.zeroGrad();
  };
  step(); // creates the moments
  const during = torch.memoryStats().liveTensors;
  step();
  assert.equal(torch.memoryStats().liveTensors, during);
  optimizer.dispose();
  w.dispose();
  assert.equal(torch.memoryStats().liveTensors, before);
});
