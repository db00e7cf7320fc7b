// Forward values of tensor creation (including rand/randint/randperm), reading data and metadata out,
// scopes, dtype conversion, copies and in-place ops, and the random generators, checked against
// hand-computed values and sample statistics. The harness and the tolerances are in
// test/helpers/reference.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor, DType } from '../../src/torch/index.ts';
import { check, t32, t64, i64, vals, assertTensor, meanOf, varOf, bf16 } from '../helpers/reference.ts';

// ---- creation -----------------------------------------------------------------------------------

check('zeros, ones, full, empty: shape, dtype and values', () => {
  assertTensor(torch.zeros([2, 3]), [2, 3], 'float32', [0, 0, 0, 0, 0, 0]);
  assertTensor(torch.ones([3], { dtype: 'int64' }), [3], 'int64', [1, 1, 1]);
  assertTensor(torch.ones([2, 1], { dtype: 'float64' }), [2, 1], 'float64', [1, 1]);
  assertTensor(torch.full([2, 2], 2.5), [2, 2], 'float32', [2.5, 2.5, 2.5, 2.5]);
  assertTensor(torch.full([2], 7, { dtype: 'int32' }), [2], 'int32', [7, 7]);
  assertTensor(torch.full([2], true, { dtype: 'bool' }), [2], 'bool', [1, 1]);
  assertTensor(torch.zeros([0, 4]), [0, 4], 'float32', []);
  assertTensor(torch.zeros([]), [], 'float32', [0]);
  const big = torch.full([1], 2n ** 60n + 3n, { dtype: 'int64' });
  assert.deepEqual(Array.from(big.toArray() as BigInt64Array), [2n ** 60n + 3n]);
  const e = torch.empty([3, 2], { dtype: 'float64' });
  assert.deepEqual(e.shape, [3, 2]);
  assert.equal(e.dtype, 'float64');
  assert.throws(() => torch.zeros([2, -1]), TypeError);
  assert.throws(() => torch.zeros([1.5]), TypeError);
  const g = torch.zeros([2], { requiresGrad: true });
  assert.equal(g.requiresGrad, true);
  assert.equal(g.isLeaf, true);
});

check('zerosLike, onesLike, fullLike, emptyLike keep shape and dtype', () => {
  const x = t64([1, 2, 3, 4, 5, 6], [2, 3]);
  assertTensor(torch.zerosLike(x), [2, 3], 'float64', [0, 0, 0, 0, 0, 0]);
  assertTensor(torch.onesLike(x), [2, 3], 'float64', [1, 1, 1, 1, 1, 1]);
  assertTensor(torch.fullLike(i64([1, 2]), 9), [2], 'int64', [9, 9]);
  const e = torch.emptyLike(x);
  assert.deepEqual([e.shape, e.dtype], [[2, 3], 'float64']);
});

check('arange: end, start/end/step, negative step, explicit float dtype', () => {
  assertTensor(torch.arange(5), [5], 'int64', [0, 1, 2, 3, 4]);
  assertTensor(torch.arange(2, 9, 3), [3], 'int64', [2, 5, 8]);
  assertTensor(torch.arange(5, 0, -2), [3], 'int64', [5, 3, 1]);
  assertTensor(torch.arange(0, 1, 0.25, { dtype: 'float32' }), [4], 'float32', [0, 0.25, 0.5, 0.75]);
  assertTensor(torch.arange(-1, 1, 0.5, { dtype: 'float64' }), [4], 'float64', [-1, -0.5, 0, 0.5]);
  assertTensor(torch.arange(0), [0], 'int64', []);
});

check('arange with a fractional step and no dtype infers a floating dtype, as torch.arange does', () => {
  // torch.arange(0, 1, 0.25) is float32 [0, 0.25, 0.5, 0.75]; int64 is the default only for integer arguments.
  const t = torch.arange(0, 1, 0.25);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(vals(t), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(vals(torch.arange(0.5, 3)), [0.5, 1.5, 2.5]);
});

check('tensor from nested arrays, scalars and bigints; default and explicit dtypes', () => {
  const a = torch.tensor([[1, 2, 3], [4, 5, 6]]);
  assertTensor(a, [2, 3], 'float32', [1, 2, 3, 4, 5, 6]);
  assertTensor(torch.tensor([[0.1, 0.2]]), [1, 2], 'float32', [Math.fround(0.1), Math.fround(0.2)]);
  assertTensor(torch.tensor([0.1, 0.2], { dtype: 'float64' }), [2], 'float64', [0.1, 0.2]);
  assertTensor(torch.tensor([1n, -2n]), [2], 'int64', [1, -2]);
  assertTensor(torch.tensor([true, false, true]), [3], 'bool', [1, 0, 1]);
  assertTensor(torch.tensor([1, 2, 3], { dtype: 'int32' }), [3], 'int32', [1, 2, 3]);
  assertTensor(torch.tensor([1, 255], { dtype: 'uint8' }), [2], 'uint8', [1, 255]);
  assertTensor(torch.tensor([1, 0, 2], { dtype: 'bool' }), [3], 'bool', [1, 0, 1]);
  assertTensor(torch.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }), [3, 2], 'float32', [1, 2, 3, 4, 5, 6]);
  const s = torch.tensor(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);
  const big = torch.tensor([2n ** 62n + 1n, -(2n ** 62n) - 7n]);
  assert.deepEqual(Array.from(big.toArray() as BigInt64Array), [2n ** 62n + 1n, -(2n ** 62n) - 7n]);
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => torch.tensor([1.5], { dtype: 'int64' }), TypeError);
  const rg = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  assert.equal(rg.requiresGrad, true);
});

check('tensor from typed arrays of each dtype, with shapes and conversions', () => {
  const f32 = torch.tensor(new Float32Array([1.5, -2, 3.25, 0.1]), { shape: [2, 2] });
  assertTensor(f32, [2, 2], 'float32', [1.5, -2, 3.25, Math.fround(0.1)]);
  assertTensor(torch.tensor(new Float64Array([0.1, 1e300])), [2], 'float64', [0.1, 1e300]);
  const i = torch.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
  assert.equal(i.dtype, 'int64');
  assert.deepEqual(Array.from(i.toArray() as BigInt64Array), [-(2n ** 63n), 2n ** 63n - 1n]);
  assertTensor(torch.tensor(new Int32Array([-5, 2147483647])), [2], 'int32', [-5, 2147483647]);
  assertTensor(torch.tensor(new Uint8Array([0, 7, 255])), [3], 'uint8', [0, 7, 255]);
  // a dtype converts after the copy
  assertTensor(torch.tensor(new Uint8Array([0, 3, 1]), { dtype: 'bool' }), [3], 'bool', [0, 1, 1]);
  assertTensor(torch.tensor(new Float64Array([0.1, 2.5]), { dtype: 'float32' }), [2], 'float32', [Math.fround(0.1), 2.5]);
  assertTensor(torch.tensor(new Float32Array([-1.7, 1.7]), { dtype: 'int64' }), [2], 'int64', [-1, 1]);
  // a view into a larger buffer copies only its own elements
  const backing = new Float64Array([9, 1, 2, 3, 9]);
  assertTensor(torch.tensor(backing.subarray(1, 4)), [3], 'float64', [1, 2, 3]);
  assert.throws(() => torch.tensor(new Float32Array(5), { shape: [2, 2] }), /bytes/);
});

check('fromBytes and bytes round-trip the native byte layout', () => {
  const src = new Float32Array([1.5, -2, 3.25, 4]);
  const t = torch.fromBytes(new Uint8Array(src.buffer), [2, 2], 'float32');
  assertTensor(t, [2, 2], 'float32', [1.5, -2, 3.25, 4]);
  assert.deepEqual(t.bytes(), new Uint8Array(src.buffer));
  const ints = new BigInt64Array([5n, -6n, 7n]);
  assertTensor(torch.fromBytes(ints, [3], 'int64'), [3], 'int64', [5, -6, 7]);
  const doubles = new Float64Array([7, 1, 2, 7]);
  assertTensor(torch.fromBytes(doubles.subarray(1, 3), [2], 'float64'), [2], 'float64', [1, 2]);
  // bfloat16 from its 16-bit patterns: 0x3f80 = 1, 0xc040 = -3, 0x3e80 = 0.25
  const half = new Uint16Array([0x3f80, 0xc040, 0x3e80]);
  assertTensor(torch.fromBytes(new Uint8Array(half.buffer), [3], 'bfloat16'), [3], 'bfloat16', [1, -3, 0.25]);
  assertTensor(torch.fromBytes(new Uint8Array([1, 0, 1]), [3], 'bool'), [3], 'bool', [1, 0, 1]);
  assert.throws(() => torch.fromBytes(new Uint8Array(5), [2], 'float32'), /5 bytes/);
});

check('rand, randint, randperm: ranges, dtypes and permutations', () => {
  const g = new torch.Generator(11);
  const u = vals(torch.rand([1000], { generator: g }));
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(meanOf(u) - 0.5) < 5 * Math.sqrt(1 / 12 / 1000), `rand mean ${meanOf(u)}`);
  const ri = torch.randint(-3, 4, [2000], { generator: g });
  assert.equal(ri.dtype, 'int64');
  const r = vals(ri);
  assert.ok(r.every((x) => Number.isInteger(x) && x >= -3 && x < 4));
  assert.deepEqual([...new Set(r)].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
  const p = torch.randperm(50, { generator: g });
  assert.equal(p.dtype, 'int64');
  assert.deepEqual(vals(p).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(torch.randn([4, 5], { dtype: 'float64' }).dtype, 'float64');
});

// ---- data out ------------------------------------------------------------------------------------

check('toArray returns the typed array of each dtype; tolist nests; item reads one element', () => {
  const cases: [DType, string][] = [
    ['float32', 'Float32Array'],
    ['float64', 'Float64Array'],
    ['int64', 'BigInt64Array'],
    ['int32', 'Int32Array'],
    ['uint8', 'Uint8Array'],
    ['bool', 'Uint8Array'],
    ['bfloat16', 'Float32Array'],
    ['float16', 'Float32Array'],
  ];
  for (const [dtype, ctor] of cases) {
    const t = torch.tensor([[1, 0, 3], [4, 5, 0]], { dtype });
    const a = t.toArray();
    assert.equal(a.constructor.name, ctor, dtype);
    const expected = dtype === 'bool' ? [1, 0, 1, 1, 1, 0] : [1, 0, 3, 4, 5, 0];
    assert.deepEqual(Array.from(a as ArrayLike<number | bigint>, Number), expected, dtype);
    const list = t.tolist();
    const nested = dtype === 'bool' ? [[true, false, true], [true, true, false]] : [[1, 0, 3], [4, 5, 0]];
    assert.deepEqual(list, nested, dtype);
    assert.equal(t.select(0, 1).select(0, 1).item(), dtype === 'bool' ? 1 : 5, dtype);
  }
  const i = torch.tensor([2n ** 60n + 1n, -3n]);
  const arr = i.toArray();
  assert.ok(arr instanceof BigInt64Array);
  assert.equal(arr[0], 2n ** 60n + 1n);
  assert.deepEqual(torch.tensor(4.25).tolist(), 4.25);
  assert.deepEqual(torch.zeros([2, 0]).tolist(), [[], []]);
  assert.equal(torch.tensor([[7]], { dtype: 'int64' }).item(), 7);
  assert.equal(torch.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
  assert.throws(() => torch.zeros([2]).item(), /one element/);
});

check('metadata: shape, ndim, numel, size, strides, device, toString, dispose', () => {
  const t = torch.zeros([2, 3, 4]);
  assert.deepEqual(t.shape, [2, 3, 4]);
  assert.equal(t.ndim, 3);
  assert.equal(t.numel, 24);
  assert.equal(t.size(-1), 4);
  assert.equal(t.size(0), 2);
  assert.throws(() => t.size(3), RangeError);
  assert.deepEqual(t.strides, [12, 4, 1]);
  assert.equal(t.device, 'cpu');
  assert.equal(t.toString(), 'Tensor(shape=[2, 3, 4], dtype=float32, device=cpu)');
  const d = torch.ones([2]);
  d.dispose();
  assert.equal(d.isDisposed, true);
  d.dispose(); // safe twice
  assert.match(d.toString(), /disposed/);
  assert.throws(() => d.add(1), /disposed/);
});

check('scope disposes what it created except its result; keep() survives', () => {
  let inner: Tensor | undefined;
  let kept: Tensor | undefined;
  const result = torch.scope(() => {
    inner = torch.ones([2]);
    kept = torch.ones([3]).keep();
    return { out: inner.add(1) };
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(result.out.isDisposed, false);
  assert.deepEqual(vals(result.out), [2, 2]);
  assert.equal(kept!.isDisposed, false);
  kept!.dispose();
});

check('device: cpu() is a no-op copy; cuda() works only where CUDA is available', () => {
  const x = t32([1, 2]);
  assertTensor(x.cpu(), [2], 'float32', [1, 2]);
  if (torch.cuda.isAvailable()) {
    const c = x.cuda();
    assert.match(c.device, /^cuda/);
    assertTensor(c.cpu(), [2], 'float32', [1, 2]);
  } else {
    assert.throws(() => x.cuda(), /CUDA/);
  }
});

// ---- conversion, copies, in place ----------------------------------------------------------------

check('to(dtype) conversions and the shorthand methods', () => {
  const x = t32([-1.7, -0.2, 0, 1.5, 2.9]);
  assertTensor(x.to('int64'), [5], 'int64', [-1, 0, 0, 1, 2]);
  assertTensor(x.long(), [5], 'int64', [-1, 0, 0, 1, 2]);
  assertTensor(x.int(), [5], 'int32', [-1, 0, 0, 1, 2]);
  assertTensor(x.bool(), [5], 'bool', [1, 1, 0, 1, 1]);
  assertTensor(x.to('bool').to('float32'), [5], 'float32', [1, 1, 0, 1, 1]);
  assertTensor(x.double(), [5], 'float64', [-1.7, -0.2, 0, 1.5, 2.9].map(Math.fround));
  assertTensor(t64([0.1, 1 / 3]).float(), [2], 'float32', [Math.fround(0.1), Math.fround(1 / 3)]);
  assertTensor(t64([0.1, 1 / 3]).to('float32').to('float64'), [2], 'float64', [Math.fround(0.1), Math.fround(1 / 3)]);
  // float16: 0.1 -> 0.0999755859375 (11 significant bits), 65504 is the largest finite half
  assertTensor(t32([0.1, 65504, 1]).half(), [3], 'float16', [0.0999755859375, 65504, 1]);
  assertTensor(t32([0.1, 1]).bfloat16(), [2], 'bfloat16', [bf16(0.1), 1]);
  assertTensor(i64([3, -4]).float(), [2], 'float32', [3, -4]);
  assertTensor(i64([300, -1]).to('uint8'), [2], 'uint8', [44, 255]);
  assertTensor(torch.tensor([true, false]).long(), [2], 'int64', [1, 0]);
});

check('clone copies storage; detach shares it and drops requiresGrad', () => {
  const x = t32([1, 2, 3]);
  const c = x.clone();
  c.fill_(0);
  assert.deepEqual(vals(x), [1, 2, 3]);
  assert.deepEqual(vals(c), [0, 0, 0]);
  const p = t32([1, 2, 3]).requiresGrad_();
  const y = p.mul(2);
  const d = y.detach();
  assert.equal(y.requiresGrad, true);
  assert.equal(d.requiresGrad, false);
  d.add_(1);
  assert.deepEqual(vals(y), [3, 5, 7], 'detach shares storage');
  const pc = p.clone();
  assert.equal(pc.requiresGrad, true);
  assert.equal(pc.isLeaf, false);
});

check('in-place ops return this and update values: add_ sub_ mul_ div_ copy_ fill_ zero_ clamp_ maskedFill_ indexCopy_', () => {
  const x = t32([1, 2, 3, 4], [2, 2]);
  assert.equal(x.add_(t32([1, 1, 1, 1], [2, 2])), x);
  assert.deepEqual(vals(x), [2, 3, 4, 5]);
  x.add_(t32([1, 2]), 2);
  assert.deepEqual(vals(x), [4, 7, 6, 9]);
  x.add_(1);
  assert.deepEqual(vals(x), [5, 8, 7, 10]);
  x.add_(1, 3);
  assert.deepEqual(vals(x), [8, 11, 10, 13]);
  assert.equal(x.sub_(t32([8, 8, 8, 8], [2, 2])), x);
  assert.deepEqual(vals(x), [0, 3, 2, 5]);
  x.sub_(t32([1]), -1);
  assert.deepEqual(vals(x), [1, 4, 3, 6]);
  assert.equal(x.mul_(2), x);
  assert.deepEqual(vals(x), [2, 8, 6, 12]);
  x.mul_(t32([0.5, 0.25]));
  assert.deepEqual(vals(x), [1, 2, 3, 3]);
  assert.equal(x.div_(t32([1, 2, 3, 4], [2, 2])), x);
  assert.deepEqual(vals(x), [1, 1, 1, 0.75]);
  x.div_(0.25);
  assert.deepEqual(vals(x), [4, 4, 4, 3]);
  assert.equal(x.copy_(t32([9, 8])), x);
  assert.deepEqual(vals(x), [9, 8, 9, 8], 'copy_ broadcasts');
  x.copy_(t64([0.5, 1.5, 2.5, 3.5], [2, 2]));
  assert.deepEqual([x.dtype, vals(x)], ['float32', [0.5, 1.5, 2.5, 3.5]], 'copy_ converts dtypes');
  assert.equal(x.clamp_(1, 3), x);
  assert.deepEqual(vals(x), [1, 1.5, 2.5, 3]);
  x.clamp_(undefined, 2);
  assert.deepEqual(vals(x), [1, 1.5, 2, 2]);
  assert.equal(x.maskedFill_(torch.tensor([true, false]), -1), x);
  assert.deepEqual(vals(x), [-1, 1.5, -1, 2]);
  assert.equal(x.fill_(7), x);
  assert.deepEqual(vals(x), [7, 7, 7, 7]);
  assert.equal(x.zero_(), x);
  assert.deepEqual(vals(x), [0, 0, 0, 0]);
  const y = torch.zeros([4, 2]);
  assert.equal(y.indexCopy_(0, i64([3, 1]), t32([1, 2, 3, 4], [2, 2])), y);
  assert.deepEqual(vals(y), [0, 0, 3, 4, 0, 0, 1, 2]);
  const n = i64([1, 2, 3]);
  n.add_(5).mul_(2);
  assertTensor(n, [3], 'int64', [12, 14, 16]);
  assert.throws(() => t32([1]).requiresGrad_().add_(1), /leaf|grad/);
});

check('normal_ and uniform_ with a generator: reproducible, right moments and range', () => {
  const n = 20000;
  const a = torch.empty([n], { dtype: 'float64' }).normal_(2, 3, new torch.Generator(77));
  const b = torch.empty([n], { dtype: 'float64' }).normal_(2, 3, new torch.Generator(77));
  assert.deepEqual(vals(a), vals(b));
  const av = vals(a);
  const m = meanOf(av);
  const sd = Math.sqrt(varOf(1)(av));
  assert.ok(Math.abs(m - 2) <= (5 * 3) / Math.sqrt(n), `normal_ mean ${m}`);
  assert.ok(Math.abs(sd - 3) <= (5 * 3) / Math.sqrt(2 * n), `normal_ std ${sd}`);
  const u = torch.empty([n]).uniform_(-2, 5, new torch.Generator(78));
  const uv = vals(u);
  assert.ok(uv.every((v) => v >= -2 && v < 5), 'uniform_ range');
  assert.ok(Math.abs(meanOf(uv) - 1.5) <= (5 * 7) / Math.sqrt(12 * n), `uniform_ mean ${meanOf(uv)}`);
  const u2 = torch.empty([n]).uniform_(-2, 5, new torch.Generator(78));
  assert.deepEqual(vals(u2), uv);
  assert.notDeepEqual(vals(torch.empty([n]).uniform_(-2, 5, new torch.Generator(79))), uv);
  // the same generator continues its stream
  const g = new torch.Generator(1);
  const first = vals(torch.empty([5]).normal_(0, 1, g));
  const second = vals(torch.empty([5]).normal_(0, 1, g));
  assert.notDeepEqual(first, second);
});

// ---- generators ----------------------------------------------------------------------------------

check('generators: same seed gives the same randn; different seeds differ', () => {
  const a = vals(torch.randn([64], { generator: new torch.Generator(1234) }));
  const b = vals(torch.randn([64], { generator: new torch.Generator(1234) }));
  const c = vals(torch.randn([64], { generator: new torch.Generator(1235) }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const g = new torch.Generator(5);
  const first = vals(torch.randn([8], { generator: g }));
  assert.notDeepEqual(vals(torch.randn([8], { generator: g })), first, 'the stream advances');
  g.manualSeed(5);
  assert.deepEqual(vals(torch.randn([8], { generator: g })), first, 'manualSeed on a generator restarts it');
  assert.deepEqual(
    vals(torch.randint(0, 1000, [16], { generator: new torch.Generator(3n) })),
    vals(torch.randint(0, 1000, [16], { generator: new torch.Generator(3) })),
    'bigint and number seeds agree',
  );
  assert.deepEqual(vals(torch.randperm(20, { generator: new torch.Generator(8) })), vals(torch.randperm(20, { generator: new torch.Generator(8) })));
  assert.deepEqual(vals(torch.rand([10], { generator: new torch.Generator(8) })), vals(torch.rand([10], { generator: new torch.Generator(8) })));
});

check('generator getState/setState reproduces a sequence', () => {
  const g = new torch.Generator(99);
  torch.randn([3], { generator: g });
  const state = g.getState();
  assert.equal(state.dtype, 'uint8');
  const seq1 = vals(torch.randn([32], { generator: g }));
  const more = vals(torch.rand([5], { generator: g }));
  g.setState(state);
  assert.deepEqual(vals(torch.randn([32], { generator: g })), seq1);
  assert.deepEqual(vals(torch.rand([5], { generator: g })), more);
  // a state moves between generators
  const other = new torch.Generator(0);
  other.setState(state);
  assert.deepEqual(vals(torch.randn([32], { generator: other })), seq1);
  // getState is a snapshot, not a live view
  const snapshot = g.getState();
  const before = vals(snapshot);
  torch.randn([4], { generator: g });
  assert.deepEqual(vals(snapshot), before);
  assert.notDeepEqual(vals(g.getState()), before);
  g.setState(snapshot);
  assert.deepEqual(vals(g.getState()), before);
});

check('torch.manualSeed makes the default stream reproducible; Generator.default() is that stream', () => {
  torch.manualSeed(2024);
  const a = vals(torch.randn([16]));
  const a2 = vals(torch.rand([4]));
  torch.manualSeed(2024);
  assert.deepEqual(vals(torch.randn([16])), a);
  assert.deepEqual(vals(torch.rand([4])), a2);
  torch.manualSeed(2025);
  assert.notDeepEqual(vals(torch.randn([16])), a);
  const def = torch.Generator.default();
  torch.manualSeed(7);
  const state = def.getState();
  const x = vals(torch.randn([10]));
  def.setState(state);
  assert.deepEqual(vals(torch.randn([10])), x, 'default generator state restores the default stream');
  def.manualSeed(7);
  assert.deepEqual(vals(torch.randn([10])), x, 'seeding Generator.default() seeds the default stream');
  torch.manualSeed(7);
  assert.deepEqual(vals(torch.randn([10], { generator: new torch.Generator(7) })), x, 'the default stream equals a fresh generator with the same seed');
});
