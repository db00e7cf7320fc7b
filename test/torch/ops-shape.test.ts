// Forward values of indexing (embedding, gather/scatter, indexSelect and friends), the shape and view
// ops, and sorting and sampling (topk, sort, multinomial), checked against hand-computed values or
// index arithmetic in plain JavaScript. The harness and the tolerances are in test/helpers/reference.ts.

import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { check, uniform, t32, i64, vals, assertTensor, ravel, build, sumOf } from '../helpers/reference.ts';

// ---- indexing ------------------------------------------------------------------------------------

check('embedding picks rows of the weight', () => {
  const w = t32(build([5, 3], ([r, c]) => r! * 10 + c!), [5, 3]);
  const ids = i64([0, 4, 2, 1, 1, 3], [2, 3]);
  const e = torch.embedding(ids, w);
  assertTensor(e, [2, 3, 3], 'float32', [0, 1, 2, 40, 41, 42, 20, 21, 22, 10, 11, 12, 10, 11, 12, 30, 31, 32]);
  assert.throws(() => torch.embedding(i64([5]), w), /index out of range/);
});

check('gather, scatter (tensor and scalar), scatterAdd', () => {
  const x = t32([1, 2, 3, 4, 5, 6], [2, 3]);
  assertTensor(x.gather(1, i64([2, 0, 1, 1], [2, 2])), [2, 2], 'float32', [3, 1, 5, 5]);
  assertTensor(x.gather(0, i64([1, 0, 1], [1, 3])), [1, 3], 'float32', [4, 2, 6]);
  const z = torch.zeros([2, 4]);
  assertTensor(z.scatter(1, i64([3, 0, 1, 2], [2, 2]), t32([7, 8, 9, 10], [2, 2])), [2, 4], 'float32', [8, 0, 0, 7, 0, 9, 10, 0]);
  assertTensor(z.scatter(1, i64([1, 3], [2, 1]), -1), [2, 4], 'float32', [0, -1, 0, 0, 0, 0, 0, -1]);
  assertTensor(z, [2, 4], 'float32', [0, 0, 0, 0, 0, 0, 0, 0], 0, 0, 'scatter is out of place');
  // duplicates add up
  assertTensor(torch.ones([5]).scatterAdd(0, i64([0, 2, 2, 4, 2]), t32([1, 2, 3, 4, 5])), [5], 'float32', [2, 1, 11, 1, 5]);
});

check('indexSelect, indexAdd, maskedSelect, nonzero', () => {
  const x = t32([1, 2, 3, 4, 5, 6], [3, 2]);
  assertTensor(x.indexSelect(0, i64([2, 0, 2])), [3, 2], 'float32', [5, 6, 1, 2, 5, 6]);
  assertTensor(x.indexSelect(1, i64([1])), [3, 1], 'float32', [2, 4, 6]);
  assertTensor(x.indexAdd(0, i64([0, 2, 0]), t32([10, 20, 30, 40, 50, 60], [3, 2])), [3, 2], 'float32', [61, 82, 3, 4, 35, 46]);
  assertTensor(x.maskedSelect(x.gt(2.5)), [4], 'float32', [3, 4, 5, 6]);
  assertTensor(x.maskedSelect(torch.tensor([true, false])), [3], 'float32', [1, 3, 5]);
  const nz = t32([0, 3, 0, -1, 2, 0], [2, 3]).nonzero();
  assertTensor(nz, [3, 2], 'int64', [0, 1, 1, 0, 1, 1]);
  assertTensor(torch.zeros([4]).nonzero(), [0, 1], 'int64', []);
});

// ---- shape ops -----------------------------------------------------------------------------------

const S = [2, 3, 4];
const sdata = Array.from({ length: 24 }, (_, i) => i);
const sx = (): Tensor => t32(sdata, S);
const at3 = (i: number, j: number, k: number): number => sdata[ravel([i, j, k], S)]!;

check('cat and stack along each dim', () => {
  const a = t32([1, 2, 3, 4], [2, 2]);
  const b = t32([5, 6], [1, 2]);
  assertTensor(torch.cat([a, b]), [3, 2], 'float32', [1, 2, 3, 4, 5, 6]);
  assertTensor(torch.cat([a, t32([7, 8], [2, 1])], 1), [2, 3], 'float32', [1, 2, 7, 3, 4, 8]);
  assertTensor(torch.cat([a, a], -1), [2, 4], 'float32', [1, 2, 1, 2, 3, 4, 3, 4]);
  const c = t32([9, 9, 9, 9], [2, 2]);
  assertTensor(torch.stack([a, c]), [2, 2, 2], 'float32', [1, 2, 3, 4, 9, 9, 9, 9]);
  assertTensor(torch.stack([a, c], 1), [2, 2, 2], 'float32', [1, 2, 9, 9, 3, 4, 9, 9]);
  assertTensor(torch.stack([a, c], 2), [2, 2, 2], 'float32', [1, 9, 2, 9, 3, 9, 4, 9]);
  assertTensor(torch.stack([a, c], -1), [2, 2, 2], 'float32', [1, 9, 2, 9, 3, 9, 4, 9]);
  assert.throws(() => torch.cat([]), TypeError);
  assert.throws(() => torch.stack([a, b]), /stack/);
});

check('split by size and by sizes, chunk, unbind', () => {
  const x = sx();
  const parts = x.split(3, 2);
  assert.deepEqual(parts.map((p) => p.shape), [[2, 3, 3], [2, 3, 1]]);
  assertTensor(parts[1]!, [2, 3, 1], 'float32', build([2, 3, 1], ([i, j]) => at3(i!, j!, 3)));
  const sizes = x.split([1, 2], 1);
  assert.deepEqual(sizes.map((p) => p.shape), [[2, 1, 4], [2, 2, 4]]);
  assertTensor(sizes[1]!, [2, 2, 4], 'float32', build([2, 2, 4], ([i, j, k]) => at3(i!, j! + 1, k!)));
  assert.deepEqual(x.split(1).map((p) => p.shape), [[1, 3, 4], [1, 3, 4]]);
  assert.throws(() => x.split([1, 1], 1), /split/);
  const chunks = x.chunk(3, 1);
  assert.equal(chunks.length, 3);
  assertTensor(chunks[2]!, [2, 1, 4], 'float32', build([2, 1, 4], ([i, , k]) => at3(i!, 2, k!)));
  assert.deepEqual(x.chunk(3, 2).map((p) => p.shape), [[2, 3, 2], [2, 3, 2]]);
  const un = x.unbind(1);
  assert.equal(un.length, 3);
  assertTensor(un[1]!, [2, 4], 'float32', build([2, 4], ([i, k]) => at3(i!, 1, k!)));
  assertTensor(x.unbind()[1]!, [3, 4], 'float32', build([3, 4], ([j, k]) => at3(1, j!, k!)));
});

check('narrow, slice (negative and step), select; views share memory', () => {
  const x = sx();
  assertTensor(x.narrow(2, 1, 2), [2, 3, 2], 'float32', build([2, 3, 2], ([i, j, k]) => at3(i!, j!, k! + 1)));
  assertTensor(x.slice(1, 1), [2, 2, 4], 'float32', build([2, 2, 4], ([i, j, k]) => at3(i!, j! + 1, k!)));
  assertTensor(x.slice(2, -2), [2, 3, 2], 'float32', build([2, 3, 2], ([i, j, k]) => at3(i!, j!, k! + 2)));
  assertTensor(x.slice(2, 0, -1), [2, 3, 3], 'float32', build([2, 3, 3], ([i, j, k]) => at3(i!, j!, k!)));
  assertTensor(x.slice(-1, 0, 4, 3), [2, 3, 2], 'float32', build([2, 3, 2], ([i, j, k]) => at3(i!, j!, k! * 3)));
  assertTensor(x.slice(2, undefined, undefined, 2), [2, 3, 2], 'float32', build([2, 3, 2], ([i, j, k]) => at3(i!, j!, k! * 2)));
  assertTensor(x.slice(1, -2, -1), [2, 1, 4], 'float32', build([2, 1, 4], ([i, , k]) => at3(i!, 1, k!)));
  assertTensor(x.slice(0, 5, 10), [0, 3, 4], 'float32', []);
  assertTensor(x.select(1, 2), [2, 4], 'float32', build([2, 4], ([i, k]) => at3(i!, 2, k!)));
  assertTensor(x.select(-1, -1), [2, 3], 'float32', build([2, 3], ([i, j]) => at3(i!, j!, 3)));
  assert.throws(() => x.select(0, 2), /index|out of range/);
  // writes through a view reach the base tensor
  const base = torch.zeros([3, 4]);
  base.narrow(1, 1, 2).fill_(1);
  base.select(0, 2).fill_(2);
  base.slice(0, 0, 1).slice(1, 3).fill_(3);
  assertTensor(base, [3, 4], 'float32', [0, 1, 1, 3, 0, 1, 1, 0, 2, 2, 2, 2]);
});

check('view, reshape, flatten; view of non-contiguous fails where reshape copies', () => {
  const x = sx();
  assertTensor(x.view(6, 4), [6, 4], 'float32', sdata);
  assertTensor(x.view([4, -1]), [4, 6], 'float32', sdata);
  assertTensor(x.reshape(-1), [24], 'float32', sdata);
  assertTensor(x.reshape([3, 2, 4]), [3, 2, 4], 'float32', sdata);
  assertTensor(x.flatten(), [24], 'float32', sdata);
  assertTensor(x.flatten(1), [2, 12], 'float32', sdata);
  assertTensor(x.flatten(0, 1), [6, 4], 'float32', sdata);
  const t = x.transpose(0, 2);
  assert.throws(() => t.view(24), /view/);
  assertTensor(t.reshape(24), [24], 'float32', build([4, 3, 2], ([k, j, i]) => at3(i!, j!, k!)));
  assert.throws(() => x.view(5, 5), /shape/);
});

check('permute, transpose, mT, contiguous, isContiguous, strides', () => {
  const x = sx();
  const p = x.permute(2, 0, 1);
  assertTensor(p, [4, 2, 3], 'float32', build([4, 2, 3], ([k, i, j]) => at3(i!, j!, k!)));
  assertTensor(x.permute([1, 2, 0]), [3, 4, 2], 'float32', build([3, 4, 2], ([j, k, i]) => at3(i!, j!, k!)));
  assert.equal(p.isContiguous(), false);
  assert.deepEqual(p.strides, [1, 12, 4]);
  const c = p.contiguous();
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(c.strides, [6, 3, 1]);
  assertTensor(c, [4, 2, 3], 'float32', build([4, 2, 3], ([k, i, j]) => at3(i!, j!, k!)));
  assert.equal(x.isContiguous(), true);
  assertTensor(x.transpose(0, 1), [3, 2, 4], 'float32', build([3, 2, 4], ([j, i, k]) => at3(i!, j!, k!)));
  assertTensor(x.transpose(-1, -2), [2, 4, 3], 'float32', build([2, 4, 3], ([i, k, j]) => at3(i!, j!, k!)));
  assertTensor(x.mT, [2, 4, 3], 'float32', build([2, 4, 3], ([i, k, j]) => at3(i!, j!, k!)));
});

check('squeeze, unsqueeze, expand, repeat, repeatInterleave', () => {
  const x = t32([1, 2, 3], [1, 3, 1]);
  assertTensor(x.squeeze(), [3], 'float32', [1, 2, 3]);
  assertTensor(x.squeeze(0), [3, 1], 'float32', [1, 2, 3]);
  assertTensor(x.squeeze(-1), [1, 3], 'float32', [1, 2, 3]);
  assertTensor(x.squeeze(1), [1, 3, 1], 'float32', [1, 2, 3]);
  assertTensor(t32([1, 2, 3]).unsqueeze(0), [1, 3], 'float32', [1, 2, 3]);
  assertTensor(t32([1, 2, 3]).unsqueeze(-1), [3, 1], 'float32', [1, 2, 3]);
  const e = t32([1, 2, 3], [3, 1]).expand(3, 2);
  assertTensor(e, [3, 2], 'float32', [1, 1, 2, 2, 3, 3]);
  assert.deepEqual(e.strides, [1, 0]);
  assertTensor(t32([1, 2]).expand([2, 3, 2]), [2, 3, 2], 'float32', [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
  assertTensor(t32([1, 2], [1, 2]).expand(-1, 2), [1, 2], 'float32', [1, 2]);
  assert.throws(() => t32([1, 2]).expand(3), /expand/);
  assertTensor(t32([1, 2, 3, 4], [2, 2]).repeat(2, 3), [4, 6], 'float32', build([4, 6], ([i, j]) => [1, 2, 3, 4][(i! % 2) * 2 + (j! % 2)]!));
  assertTensor(t32([1, 2]).repeat([2, 2]), [2, 4], 'float32', [1, 2, 1, 2, 1, 2, 1, 2]);
  assertTensor(t32([1, 2, 3, 4], [2, 2]).repeatInterleave(2, 0), [4, 2], 'float32', [1, 2, 1, 2, 3, 4, 3, 4]);
  assertTensor(t32([1, 2, 3, 4], [2, 2]).repeatInterleave(3, 1), [2, 6], 'float32', [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  assertTensor(t32([1, 2, 3, 4], [2, 2]).repeatInterleave(2), [8], 'float32', [1, 1, 2, 2, 3, 3, 4, 4]);
});

check('flip, triu, tril', () => {
  const x = sx();
  assertTensor(x.flip(0), S, 'float32', build(S, ([i, j, k]) => at3(1 - i!, j!, k!)));
  assertTensor(x.flip([1, 2]), S, 'float32', build(S, ([i, j, k]) => at3(i!, 2 - j!, 3 - k!)));
  assertTensor(x.flip(-1), S, 'float32', build(S, ([i, j, k]) => at3(i!, j!, 3 - k!)));
  const m = t32(Array.from({ length: 12 }, (_, i) => i + 1), [3, 4]);
  const mv = (i: number, j: number) => i * 4 + j + 1;
  for (const d of [0, 1, -1, 2]) {
    assertTensor(m.triu(d), [3, 4], 'float32', build([3, 4], ([i, j]) => (j! - i! >= d ? mv(i!, j!) : 0)), 0, 0, `triu ${d}`);
    assertTensor(m.tril(d), [3, 4], 'float32', build([3, 4], ([i, j]) => (j! - i! <= d ? mv(i!, j!) : 0)), 0, 0, `tril ${d}`);
  }
  assertTensor(torch.ones([2, 2, 2]).triu(), [2, 2, 2], 'float32', [1, 1, 0, 1, 1, 1, 0, 1]);
});

// ---- sorting and sampling ------------------------------------------------------------------------

check('topk: largest, smallest, along a dim, unsorted set', () => {
  const data = [5, 1, 9, 3, 7, 2, 8, 6, 4, 0, 11, 10];
  const x = t32(data, [2, 6]);
  const top = x.topk(3);
  assertTensor(top.values, [2, 3], 'float32', [9, 7, 5, 11, 10, 8]);
  assertTensor(top.indices, [2, 3], 'int64', [2, 4, 0, 4, 5, 0]);
  const low = x.topk(2, { largest: false });
  assertTensor(low.values, [2, 2], 'float32', [1, 2, 0, 4]);
  assertTensor(low.indices, [2, 2], 'int64', [1, 5, 3, 2]);
  const col = x.topk(1, { dim: 0 });
  assertTensor(col.values, [1, 6], 'float32', [8, 6, 9, 3, 11, 10]);
  assertTensor(col.indices, [1, 6], 'int64', [1, 1, 0, 0, 1, 1]);
  const unsorted = x.topk(3, { sorted: false });
  assert.deepEqual(vals(unsorted.values.select(0, 0)).sort((a, b) => a - b), [5, 7, 9]);
  const idx = vals(unsorted.indices);
  assert.deepEqual(vals(unsorted.values), idx.map((j, n) => data[Math.floor(n / 3) * 6 + j]!), 'unsorted values sit at their indices');
});

check('sort is stable (ascending and descending), along dims; argsort agrees', () => {
  // many ties: a stable sort keeps equal keys in their original order
  const n = 2000;
  const keys = Array.from({ length: n }, (_, i) => (i * 7919) % 5);
  const ascending = keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const descending = keys.map((k, i) => [k, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [dtype, mk] of [['float32', t32], ['int64', i64]] as const) {
    const s = mk(keys).sort();
    assertTensor(s.values, [n], dtype, ascending.map((p) => p[0]), 0, 0, `${dtype} ascending values`);
    assertTensor(s.indices, [n], 'int64', ascending.map((p) => p[1]), 0, 0, `${dtype} ascending stable indices`);
    const d = mk(keys).sort(-1, true);
    assertTensor(d.values, [n], dtype, descending.map((p) => p[0]), 0, 0, `${dtype} descending values`);
    assertTensor(d.indices, [n], 'int64', descending.map((p) => p[1]), 0, 0, `${dtype} descending stable indices`);
  }
  const m = t32([3, 1, 2, 0, 5, 4], [2, 3]);
  assertTensor(m.sort(0).values, [2, 3], 'float32', [0, 1, 2, 3, 5, 4]);
  assertTensor(m.sort(0).indices, [2, 3], 'int64', [1, 0, 0, 0, 1, 1]);
  assertTensor(m.sort().values, [2, 3], 'float32', [1, 2, 3, 0, 4, 5]);
  // argsort on distinct keys (ties make no promise about order)
  const distinct = uniform(50, 111);
  const order = distinct.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
  assertTensor(t32(distinct).argsort(), [50], 'int64', order);
  assertTensor(t32(distinct).argsort(0, true), [50], 'int64', [...order].reverse());
  assertTensor(m.argsort(1), [2, 3], 'int64', [1, 2, 0, 0, 2, 1]);
});

check('multinomial: seeded reproducibility, zero weights never drawn, frequencies match the weights', () => {
  const weights = [1, 0, 2, 3, 0, 4];
  const total = sumOf(weights);
  const w = t32(weights);
  const draw = (seed: number, n: number) => vals(w.multinomial(n, { replacement: true, generator: new torch.Generator(seed) }));
  assert.deepEqual(draw(5, 500), draw(5, 500), 'same seed, same samples');
  assert.notDeepEqual(draw(5, 500), draw(6, 500), 'different seeds, different samples');
  const n = 40000;
  const samples = w.multinomial(n, { replacement: true, generator: new torch.Generator(123) });
  assert.deepEqual([samples.shape, samples.dtype], [[n], 'int64']);
  const counts = new Array<number>(weights.length).fill(0);
  for (const s of vals(samples)) counts[s]! += 1;
  weights.forEach((wt, i) => {
    if (wt === 0) {
      assert.equal(counts[i], 0, `category ${i} has weight 0 but was drawn`);
    } else {
      const p = wt / total;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts[i]! - n * p) <= 5 * sd, `category ${i}: ${counts[i]} draws, expected ${n * p} +- ${5 * sd}`);
    }
  });
  // without replacement: distinct indices, only where weight > 0, one row per batch row
  const rows = 500;
  const batch = t32(weights).unsqueeze(0).expand(rows, weights.length).contiguous();
  const picked = batch.multinomial(4, { generator: new torch.Generator(9) });
  assert.deepEqual(picked.shape, [rows, 4]);
  const all = vals(picked);
  for (let r = 0; r < rows; r++) {
    const row = all.slice(r * 4, r * 4 + 4).sort((a, b) => a - b);
    assert.deepEqual(row, [0, 2, 3, 5], `row ${r}`);
  }
  // first draw without replacement follows the weights too
  const first = vals(batch.multinomial(1, { generator: new torch.Generator(10) }));
  const p3 = first.filter((s) => s === 5).length / rows;
  assert.ok(Math.abs(p3 - 0.4) <= 5 * Math.sqrt((0.4 * 0.6) / rows), `P(5) = ${p3}`);
  // per-row weights in a batch
  const two = t32([0, 1, 0, 0, 0, 0, 1, 0], [2, 4]).multinomial(3, { replacement: true, generator: new torch.Generator(1) });
  assertTensor(two, [2, 3], 'int64', [1, 1, 1, 2, 2, 2]);
});
