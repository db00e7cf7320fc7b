// Bad input becomes a JS Error that names the op and what was wrong; nothing aborts the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { native } from '../../src/torch/native.ts';

test('shape mismatches name the op and both shapes', () => {
  torch.scope(() => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4, 5]);
    assert.throws(() => a.matmul(b), { message: /^matmul: .*\(2x3 and 4x5\)/ });
    assert.throws(() => a.add(torch.ones([4])), { message: /^add: The size of tensor a \(3\) must match the size of tensor b \(4\)/ });
    assert.throws(() => a.view(5), { message: /^view: shape '\[5\]' is invalid for input of size 6/ });
    assert.throws(() => torch.cat([a, b], 0), { message: /^cat: Sizes of tensors must match/ });
    assert.throws(() => torch.linear(a, torch.ones([7, 4])), { message: /^linear: .*\(2x3 and 4x7\)/ });
  });
});

test('dtype errors name the dtypes', () => {
  torch.scope(() => {
    const x = torch.ones([2, 3]);
    assert.throws(() => x.gather(1, torch.ones([2, 1])), { message: /^gather: gather\(\): Expected dtype (int64|int32\/int64) for index/ });
    assert.throws(() => torch.embedding(torch.tensor([0.5]), torch.ones([4, 2])), { message: /^embedding: .*(Long|Int)/ });
    assert.throws(() => x.matmul(torch.ones([3, 2], { dtype: 'float64' })), { message: /^matmul: .*(Float|Double)/ });
  });
});

test('a disposed tensor used again is an error, not a crash', () => {
  const t = torch.ones([3]);
  t.dispose();
  assert.throws(() => t.exp(), { message: /^exp: argument 0: tensor was already disposed/ });
  assert.throws(() => torch.ones([3]).add(t), { message: /^add: argument 1: tensor was already disposed/ });
  assert.throws(() => t.toArray(), /disposed/);
  assert.throws(() => t.shape, /disposed/);
});

test('wrong argument types become TypeErrors naming the argument', () => {
  torch.scope(() => {
    const t = torch.ones([3]);
    assert.throws(() => t.sum(0.5), { name: 'TypeError', message: /^sum: argument 1\[0\]: expected an integer/ });
    assert.throws(() => torch.zeros([2, -1]), { name: 'TypeError', message: /zeros: shape must be an array of non-negative integers/ });
    assert.throws(() => torch.zeros([2], { dtype: 'float8' as torch.DType }), { name: 'TypeError', message: /unknown dtype "float8"/ });
    assert.throws(() => t.to('tpu'), { message: /^toDevice: .*tpu/ });
    assert.throws(() => torch.tensor([[1, 2], [3]]), { name: 'TypeError', message: /ragged nested array at data\[1\]/ });
    assert.throws(() => torch.tensor([1.5], { dtype: 'int64' }), { name: 'TypeError', message: /1.5 is not an integer/ });
    assert.throws(() => torch.fromBytes(new Uint8Array(7), [2], 'float32'), { message: /fromBytes: got 7 bytes but shape \[2\] of Float needs 8/ });
  });
});

test('forged or foreign handles are rejected by the addon', () => {
  // @ts-expect-error a forged handle, on purpose
  assert.throws(() => native.exp({}), { name: 'TypeError', message: /^exp: argument 0: expected a tensor/ });
  // @ts-expect-error no handle, on purpose
  assert.throws(() => native.exp(undefined), { name: 'TypeError', message: /^exp: argument 0: expected a tensor/ });
  const generator = new torch.Generator(1);
  // @ts-expect-error a generator where a tensor goes, on purpose
  assert.throws(() => native.exp(generator.handle), { name: 'TypeError', message: /expected a tensor/ });
  const t = torch.ones([1]);
  // @ts-expect-error a tensor where a generator goes, on purpose
  assert.throws(() => native.randn([2], t.handle, 6, 'cpu'), { name: 'TypeError', message: /^randn: argument 1: expected a generator/ });
  // @ts-expect-error a number among the tensors, on purpose
  assert.throws(() => native.cat([t.handle, 42], 0), { name: 'TypeError', message: /^cat: argument 0\[1\]: expected a live tensor/ });
  t.dispose();
});

test('autograd misuse gets an explanation', () => {
  torch.scope(() => {
    const w = torch.ones([3], { requiresGrad: true });
    assert.throws(() => w.mul(2).backward(), { message: /^backward: backward\(\) without a gradient needs a scalar, got shape \[3\]/ });
    assert.throws(() => torch.ones([1]).sum().backward(), { message: /does not require grad/ });
    assert.throws(() => w.mul(2).sum().backward(torch.ones([2])), { message: /^backward: the gradient has shape \[2\] but the tensor has shape \[\]: they must be equal/ });
    assert.throws(() => torch.clipGradNorm([w], 0), { name: 'RangeError', message: /maxNorm must be positive/ });
  });
});

test('item() of a tensor with several elements names its shape', () => {
  torch.scope(() => {
    assert.throws(() => torch.ones([2, 2]).item(), { message: /item\(\) needs a tensor with one element, got shape \[2, 2\]/ });
  });
});

test('bad optimizer settings fail early with the field named', () => {
  const p = torch.ones([2], { requiresGrad: true });
  assert.throws(() => new torch.AdamW([p], { lr: -1 }), { name: 'RangeError', message: /AdamW lr must be a non-negative number, got -1/ });
  assert.throws(() => new torch.AdamW([p], { betas: [0.9, 1] }), { message: /AdamW betas\[1\] must be in \[0, 1\), got 1/ });
  assert.throws(() => new torch.SGD([p], { lr: 0.1, nesterov: true }), { message: /nesterov needs a momentum > 0/ });
  p.dispose();
});

test('CUDA requests on a machine without it are errors, not aborts', { skip: torch.cuda.isAvailable() ? 'CUDA is available here' : false }, () => {
  assert.throws(() => torch.zeros([2], { device: 'cuda' }), { message: /^zeros: device 'cuda' requested, but CUDA is not available/ });
  assert.throws(() => torch.ones([2]).to('cuda:1'), { message: /^toDevice: device 'cuda:1' requested, but CUDA is not available/ });
  assert.throws(() => torch.cuda.synchronize(), /CUDA is not available/);
});
