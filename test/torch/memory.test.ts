// Deterministic memory: scopes, dispose, keep, and a training loop that returns to its baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';

const live = () => torch.memoryStats().liveTensors;
const liveBytes = () => torch.memoryStats().liveBytes;

test('dispose releases the tensor and its bytes at once, and twice is harmless', () => {
  const before = torch.memoryStats();
  const t = torch.zeros([256, 256]);
  assert.equal(live(), before.liveTensors + 1);
  assert.equal(liveBytes(), before.liveBytes + 256 * 256 * 4);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.equal(live(), before.liveTensors);
  assert.equal(liveBytes(), before.liveBytes);
});

test('a using declaration disposes at the end of its block', () => {
  const before = live();
  {
    using t = torch.ones([8]);
    using total = t.sum();
    assert.equal(total.item(), 8);
    assert.equal(live(), before + 2);
  }
  assert.equal(live(), before);
});

test('scope disposes intermediates and hands returned tensors to the caller', () => {
  const before = live();
  const { result, list } = torch.scope(() => {
    const a = torch.ones([4]);
    const b = a.add(1);
    const c = b.mul(3);
    return { result: c, list: [b.sum()], label: 'not a tensor' };
  });
  assert.equal(live(), before + 2);
  assert.deepEqual(Array.from(result.toFloat32Array()), [6, 6, 6, 6]);
  assert.equal(list[0]!.item(), 8);
  result.dispose();
  list[0]!.dispose();
  assert.equal(live(), before);
});

test('nested scopes move returned tensors to the enclosing scope, which then disposes them', () => {
  const before = live();
  let inner: torch.Tensor | undefined;
  const outer = torch.scope(() => {
    inner = torch.scope(() => torch.ones([3]).mul(2));
    assert.equal(inner.isDisposed, false);
    return inner.sum();
  });
  assert.equal(inner!.isDisposed, true, 'the inner result belonged to the outer scope');
  assert.equal(outer.item(), 6);
  outer.dispose();
  assert.equal(live(), before);
});

test('keep() makes a tensor outlive every scope; a thrown error still cleans up', () => {
  const before = live();
  let kept: torch.Tensor | undefined;
  assert.throws(
    () =>
      torch.scope(() => {
        kept = torch.ones([2]).keep();
        torch.zeros([2]);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(kept!.isDisposed, false);
  assert.equal(live(), before + 1);
  kept!.dispose();
  assert.equal(live(), before);
});

test('scope refuses an async function, without leaking what it created', async () => {
  const before = live();
  assert.throws(
    () =>
      torch.scope((async () => {
        torch.ones([2]);
      }) as unknown as () => void),
    /synchronous/,
  );
  assert.equal(live(), before);
  assert.equal(torch.scopeDepth(), 0);
});

test('a using-style try/finally on dispose works with grads (each read of .grad is its own handle)', () => {
  const w = torch.randn([3], { requiresGrad: true });
  torch.scope(() => w.mul(w).sum().backward());
  const before = live();
  const g1 = w.grad!;
  const g2 = w.grad!;
  assert.equal(live(), before + 2);
  g1.dispose();
  assert.equal(g2.toFloat32Array().length, 3, 'disposing one handle does not free the shared gradient');
  g2.dispose();
  w.dispose();
});

test('100 steps of a toy training loop return to the baseline live-tensor count and bytes; RSS stays bounded', async () => {
  const generator = new torch.Generator(0);
  const w1 = torch.randn([64, 32], { generator }).mul_(0.1).requiresGrad_();
  const w2 = torch.randn([1, 64], { generator }).mul_(0.1).requiresGrad_();
  const x = torch.randn([128, 32], { generator });
  const y = torch.scope(() => x.sum(1, { keepdim: true }).sin());
  const optimizer = new torch.AdamW([w1, w2], { lr: 1e-2 });

  const step = () =>
    torch.scope(() => {
      const hidden = torch.linear(x, w1).silu(); // [128, 64]
      const loss = torch.linear(hidden, w2).sub(y).square().mean();
      loss.backward();
      torch.clipGradNorm([w1, w2], 1.0);
      optimizer.step();
      optimizer.zeroGrad();
      return loss.item();
    });

  // The first step creates the optimizer's moments; measure from after it.
  const firstLoss = step();
  await new Promise(setImmediate);
  const baseline = torch.memoryStats();
  const rssBefore = process.memoryUsage().rss;
  let lastLoss = firstLoss;
  for (let i = 0; i < 100; i++) {
    lastLoss = step();
    await new Promise(setImmediate);
  }
  const after = torch.memoryStats();
  assert.equal(after.liveTensors, baseline.liveTensors);
  assert.equal(after.liveBytes, baseline.liveBytes);
  assert.ok(lastLoss < firstLoss * 0.5, `the loop trains: loss ${firstLoss} -> ${lastLoss}`);
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  assert.ok(rssGrowth < 64 * 1024 * 1024, `RSS grew by ${(rssGrowth / 2 ** 20).toFixed(1)} MiB over 100 steps`);

  optimizer.dispose();
  for (const t of [w1, w2, x, y]) t.dispose();
});

test('tensors report their bytes to V8 as external memory', () => {
  const external = () => torch.memoryStats().v8ExternalBytes;
  const before = external();
  const t = torch.zeros([1024, 1024]); // 4 MiB
  const during = external();
  t.dispose();
  const after = external();
  assert.ok(during - before >= 4 * 1024 * 1024, `external grew by ${during - before}`);
  assert.ok(during - after >= 4 * 1024 * 1024, `external fell by ${during - after}`);
});
