// Safetensors: reading the fixture checkpoints (float32 and bfloat16) against an independent decode
// of their bytes, bit-identical write/read round trips, Hugging Face's layout (header padding, tensor
// order, shard names, index), strict header validation with specific errors, and atomic writes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { openCheckpoint, saveCheckpoint, SafetensorsError, SafetensorsFile, writeSafetensors } from '../../src/model/safetensors.ts';

const fixtures = new URL('../fixtures/', import.meta.url);
const fixture = (relative: string): string => fileURLToPath(new URL(relative, fixtures));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'intuitor-safetensors-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let folders = 0;
const tempDir = (): string => fs.mkdtempSync(path.join(root, `t${folders++}-`));

const live = (): number => torch.memoryStats().liveTensors;
const openFds = (): number | undefined => (fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : undefined);

/** Runs fn in a scope and asserts that no tensor outlives it. */
function leakFree(fn: () => void): void {
  const before = live();
  torch.scope(fn);
  assert.equal(live(), before, 'every tensor made by the test is disposed');
}

// ---- an independent reader: plain fs + JSON + DataView, no code from the module under test ----

interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}
function rawHeader(file: string): { length: number; text: string; json: Record<string, any> } {
  const fd = fs.openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE(0));
    const header = Buffer.alloc(length);
    fs.readSync(fd, header, 0, length, 8);
    const text = header.toString('utf8');
    return { length, text, json: JSON.parse(text) };
  } finally {
    fs.closeSync(fd);
  }
}
function rawTensor(file: string, name: string): RawTensor {
  const { length, json } = rawHeader(file);
  const { dtype, shape, data_offsets: [begin, end] } = json[name];
  const bytes = Buffer.alloc(end - begin);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, bytes, 0, bytes.length, 8 + length + begin);
  } finally {
    fs.closeSync(fd);
  }
  return { dtype, shape, bytes };
}
function decodeF32(raw: Uint8Array): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
}
/** bfloat16 is the top 16 bits of a float32. */
function decodeBf16(raw: Uint8Array): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const word = new DataView(new ArrayBuffer(4));
  return Float32Array.from({ length: raw.byteLength / 2 }, (_, i) => {
    word.setUint32(0, (view.getUint16(2 * i, true) << 16) >>> 0, true);
    return word.getFloat32(0, true);
  });
}
const sum64 = (values: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
};
/** A hand-made file: 8-byte length (or a declared one), header, data. */
function rawFile(file: string, header: string | Uint8Array, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): string {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([prefix, h, data]));
  return file;
}
const config = (model: string): Record<string, any> => JSON.parse(fs.readFileSync(fixture(`${model}/config.json`), 'utf8'));

// ---- reading the fixtures ----------------------------------------------------------------------

test('qwen2-tiny: header matches config.json and float32 tensors equal the raw bytes', () => {
  const cfg = config('qwen2-tiny');
  const file = fixture('qwen2-tiny/model.safetensors');
  const [H, V, I, heads, kv, layers] = [cfg.hidden_size, cfg.vocab_size, cfg.intermediate_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.num_hidden_layers];
  const hd = H / heads;
  using f = SafetensorsFile.open(file);
  assert.deepEqual(f.metadata, { format: 'pt' });
  const raw = rawHeader(file).json;
  const byOffset = Object.keys(raw).filter((k) => k !== '__metadata__').sort((a, b) => raw[a].data_offsets[0] - raw[b].data_offsets[0]);
  assert.deepEqual(f.names, byOffset, 'names in data order, all of them');
  assert.equal(f.names.length, 2 + 12 * layers);
  assert.equal(f.has('lm_head.weight'), false, 'tied embeddings: no lm_head.weight');
  assert.deepEqual(f.info('model.embed_tokens.weight'), { dtype: 'float32', storedDtype: 'F32', shape: [151936, 32], byteLength: V * H * 4, file });
  assert.deepEqual([V, H], [151936, 32]);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    const expected: Record<string, number[]> = {
      'self_attn.q_proj.weight': [heads * hd, H],
      'self_attn.q_proj.bias': [heads * hd],
      'self_attn.k_proj.weight': [kv * hd, H],
      'self_attn.k_proj.bias': [kv * hd],
      'self_attn.v_proj.weight': [kv * hd, H],
      'self_attn.v_proj.bias': [kv * hd],
      'self_attn.o_proj.weight': [H, heads * hd],
      'mlp.gate_proj.weight': [I, H],
      'mlp.up_proj.weight': [I, H],
      'mlp.down_proj.weight': [H, I],
      'input_layernorm.weight': [H],
      'post_attention_layernorm.weight': [H],
    };
    for (const [name, shape] of Object.entries(expected)) assert.deepEqual(f.info(p + name).shape, shape, p + name);
  }
  leakFree(() => {
    for (const name of ['model.layers.1.self_attn.q_proj.bias', 'model.norm.weight', 'model.embed_tokens.weight']) {
      const t = f.load(name);
      const r = rawTensor(file, name);
      assert.equal(t.dtype, 'float32');
      assert.deepEqual(t.shape, r.shape);
      const expected = decodeF32(r.bytes);
      assert.ok(Buffer.from(t.bytes()).equals(r.bytes), `${name}: bytes`);
      assert.ok(Math.abs(t.sum(undefined, { dtype: 'float64' }).item() - sum64(expected)) <= 1e-9 * (1 + sum64(expected.map(Math.abs))), `${name}: sum`);
      if (expected.length < 1000) assert.deepEqual(t.toFloat32Array(), expected, `${name}: values`);
    }
    const wide = f.load('model.norm.weight', { dtype: 'float64' });
    assert.equal(wide.dtype, 'float64');
    assert.deepEqual(Array.from(wide.toFloat64Array()), Array.from(decodeF32(rawTensor(file, 'model.norm.weight').bytes)));
  });
});

test('llama-tiny: bfloat16 tensors sum to the same as an independent decode of their bytes', () => {
  const cfg = config('llama-tiny');
  const file = fixture('llama-tiny/model.safetensors');
  using f = SafetensorsFile.open(file);
  const [H, V, kv, hd] = [cfg.hidden_size, cfg.vocab_size, cfg.num_key_value_heads, cfg.head_dim];
  assert.deepEqual(f.info('lm_head.weight'), { dtype: 'bfloat16', storedDtype: 'BF16', shape: [V, H], byteLength: V * H * 2, file });
  assert.ok(f.has('model.embed_tokens.weight'), 'untied: both embedding and lm_head');
  assert.deepEqual(f.info('model.layers.1.self_attn.k_proj.weight').shape, [kv * hd, H]);
  assert.deepEqual(f.info('model.layers.0.mlp.down_proj.weight').shape, [H, cfg.intermediate_size]);
  leakFree(() => {
    for (const name of ['lm_head.weight', 'model.embed_tokens.weight', 'model.layers.0.mlp.down_proj.weight', 'model.layers.1.input_layernorm.weight']) {
      const t = f.load(name);
      const r = rawTensor(file, name);
      assert.equal(r.dtype, 'BF16');
      assert.equal(t.dtype, 'bfloat16');
      assert.deepEqual(t.shape, r.shape);
      const decoded = decodeBf16(r.bytes);
      const expected = sum64(decoded);
      const got = t.sum(undefined, { dtype: 'float64' }).item();
      assert.ok(Math.abs(got - expected) <= 1e-9 * (1 + sum64(decoded.map(Math.abs))), `${name}: sum ${got} vs decoded ${expected}`);
      if (decoded.length < 10_000) assert.deepEqual(t.toFloat32Array(), decoded, `${name}: values`);
    }
    // RMSNorm weights are 1 + 0.3 * randn (fixtures README): a byte-order or decoding slip would not average near 1.
    const norm = decodeBf16(rawTensor(file, 'model.layers.1.input_layernorm.weight').bytes);
    assert.ok(Math.abs(sum64(norm) / norm.length - 1) < 0.3);
    const widened = f.load('model.layers.1.input_layernorm.weight', { dtype: 'float32' });
    assert.equal(widened.dtype, 'float32');
    assert.deepEqual(widened.toFloat32Array(), norm);
  });
  // outside any scope, a converting load leaves exactly the one tensor it returns
  const before = live();
  const converted = f.load('model.norm.weight', { dtype: 'float64' });
  assert.equal(live(), before + 1, 'the bfloat16 intermediate is disposed');
  converted.dispose();
});

test('golden_logits.safetensors: one float32 [B, 2, V] tensor per case, agreeing with golden.json', () => {
  for (const model of ['qwen2-tiny', 'llama-tiny']) {
    const golden = JSON.parse(fs.readFileSync(fixture(`${model}/golden.json`), 'utf8'));
    using f = openCheckpoint(fixture(`${model}/golden_logits.safetensors`));
    assert.deepEqual([...f.names].sort(), golden.cases.map((c: any) => c.name).sort());
    leakFree(() => {
      for (const c of golden.cases) {
        const [B, T, V] = c.shape as number[];
        assert.equal(V, golden.vocab_size);
        const logits = f.load(c.name);
        assert.equal(logits.dtype, 'float32');
        assert.deepEqual(logits.shape, [B, 2, V]);
        assert.deepEqual(logits.shape, B === 1 ? [1, 2, V] : [2, 2, V]);
        for (const [slot, position] of [[0, T - 2], [1, T - 1]] as const) {
          const at = logits.select(1, slot);
          const max = at.amax(-1).toFloat64Array();
          const argmax = at.argmax(-1).toArray() as BigInt64Array;
          for (let b = 0; b < B; b++) {
            assert.ok(Math.abs(max[b]! - c.per_position.max[b][position]) < 1e-6, `${model} ${c.name}: max at [${b}, ${position}]`);
            assert.equal(Number(argmax[b]), c.per_position.argmax[b][position], `${model} ${c.name}: argmax at [${b}, ${position}]`);
          }
        }
      }
    });
  }
});

test('openCheckpoint reads a fixture folder through model.safetensors', () => {
  using ckpt = openCheckpoint(fixture('qwen2-tiny'));
  assert.deepEqual(ckpt.files, [fixture('qwen2-tiny/model.safetensors')]);
  assert.equal(ckpt.names.length, 26);
  assert.deepEqual(ckpt.metadata, { format: 'pt' });
  leakFree(() => assert.deepEqual(ckpt.load('model.norm.weight').toFloat32Array(), decodeF32(rawTensor(fixture('qwen2-tiny/model.safetensors'), 'model.norm.weight').bytes)));
});

// ---- writing -----------------------------------------------------------------------------------

const bits16 = (words: number[]): Uint8Array => new Uint8Array(Uint16Array.from(words).buffer);

test('write -> read round trip is bit-identical for every dtype, in the reference layout', () => {
  const file = path.join(tempDir(), 'all.safetensors');
  leakFree(() => {
    const tensors = new Map<string, torch.Tensor>([
      ['f32', torch.tensor(Float32Array.from([1.5, -0, NaN, Infinity, -Infinity, 1e-40, 3.4e38, -2]), { shape: [2, 4] })],
      ['f32.scalar', torch.tensor(2.5)],
      ['f32.empty', torch.zeros([0, 3])],
      ['f32.transposed', torch.randn([3, 4]).transpose(0, 1)],
      ['f64', torch.tensor(Float64Array.from([Math.PI, -0, NaN, 5e-324, -1e300]))],
      // bf16 / f16 bit patterns: 1, -0, +inf, a NaN with a payload, the smallest subnormal, a regular value
      ['bf16', torch.fromBytes(bits16([0x3f80, 0x8000, 0x7f80, 0x7fc1, 0x0001, 0xc049]), [2, 3], 'bfloat16')],
      ['f16', torch.fromBytes(bits16([0x3c00, 0x8000, 0x7c00, 0x7e01, 0x0001, 0xc248]), [3, 2], 'float16')],
      ['i64', torch.tensor(BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, 2n ** 53n + 1n]), { shape: [2, 2] })],
      ['i32', torch.tensor(Int32Array.from([-2147483648, 2147483647, 7]))],
      ['u8', torch.tensor(Uint8Array.from([0, 255, 128]))],
      ['bool', torch.tensor([true, false, true])],
    ]);
    writeSafetensors(file, tensors, { note: 'round trip' });
    using f = SafetensorsFile.open(file);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'round trip' });
    // the reference writer's order: descending dtype alignment (I64 F64 F32 I32 BF16 F16 U8 BOOL), then name
    assert.deepEqual(f.names, ['i64', 'f64', 'f32', 'f32.empty', 'f32.scalar', 'f32.transposed', 'i32', 'bf16', 'f16', 'u8', 'bool']);
    let dataBytes = 0;
    for (const [name, original] of tensors) {
      const back = f.load(name);
      assert.equal(back.dtype, original.dtype, `${name}: dtype`);
      assert.deepEqual(back.shape, original.shape, `${name}: shape`);
      assert.ok(Buffer.from(back.bytes()).equals(original.bytes()), `${name}: bits`);
      assert.equal(f.info(name).byteLength, original.bytes().length);
      dataBytes += original.bytes().length;
    }
    assert.deepEqual(f.info('f32.transposed').shape, [4, 3]);
    assert.deepEqual(f.info('f32.scalar').shape, []);
    const { length, text, json } = rawHeader(file);
    assert.equal(length % 8, 0, 'header padded to a multiple of 8');
    assert.ok(text.length - text.trimEnd().length < 8 && /^ *$/.test(text.slice(text.trimEnd().length)), 'padding is fewer than 8 spaces');
    assert.equal(Object.keys(json)[0], '__metadata__', '__metadata__ comes first');
    assert.equal(fs.statSync(file).size, 8 + length + dataBytes, 'data is packed, nothing after it');
  });
});

test('integer-like and non-ASCII names keep their order (UTF-8 byte order) and round trip', () => {
  const file = path.join(tempDir(), 'names.safetensors');
  leakFree(() => {
    const names = ['é', '9', 'a.b', '10', 'Z'];
    writeSafetensors(file, Object.fromEntries(names.map((n, i) => [n, torch.full([2], i)])));
    using f = SafetensorsFile.open(file);
    assert.deepEqual(f.names, ['10', '9', 'Z', 'a.b', 'é']);
    for (const [i, n] of names.entries()) assert.deepEqual(Array.from(f.load(n).toFloat32Array()), [i, i]);
  });
});

test('written files are byte-identical to the Hugging Face fixtures (float32 and bfloat16)', () => {
  for (const model of ['qwen2-tiny', 'llama-tiny']) {
    const source = fixture(`${model}/model.safetensors`);
    const out = path.join(tempDir(), 'model.safetensors');
    leakFree(() => {
      using f = SafetensorsFile.open(source);
      writeSafetensors(out, new Map(f.names.map((n) => [n, f.load(n)])));
    });
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(source)), `${model}: rewritten file equals the fixture`);
  }
});

test('a small file matches the bytes of the reference serializer', () => {
  const file = path.join(tempDir(), 'attn.safetensors');
  leakFree(() => writeSafetensors(file, { 'attn.0': torch.tensor([0, 1, 2, 3, 4, 5], { shape: [1, 1, 2, 3] }) }));
  const json = '{"__metadata__":{"format":"pt"},"attn.0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  assert.equal(json.length, 97);
  const expected = Buffer.concat([Buffer.from([104, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(json + ' '.repeat(7)), Buffer.from(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer)]);
  assert.ok(fs.readFileSync(file).equals(expected));
});

test('I16 and I8 tensors load widened to int32', () => {
  const file = rawFile(
    path.join(tempDir(), 'narrow.safetensors'),
    '{"s":{"dtype":"I16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"I8","shape":[2],"data_offsets":[6,8]}}',
    Buffer.concat([Buffer.from(Int16Array.from([-32768, 32767, -1]).buffer), Buffer.from(Int8Array.from([-128, 127]).buffer)]),
  );
  using f = SafetensorsFile.open(file);
  assert.deepEqual(f.info('s'), { dtype: 'int32', storedDtype: 'I16', shape: [3], byteLength: 6, file });
  assert.deepEqual(f.info('b').storedDtype, 'I8');
  leakFree(() => {
    const s = f.load('s');
    assert.equal(s.dtype, 'int32');
    assert.deepEqual(Array.from(s.toArray() as Int32Array), [-32768, 32767, -1]);
    assert.deepEqual(Array.from(f.load('b').toArray() as Int32Array), [-128, 127]);
    assert.equal(f.load('b', { dtype: 'float32' }).dtype, 'float32');
  });
});

test('opening reads only the header: a 4 GiB (sparse) file opens at once and its last tensor loads by offset', () => {
  const file = path.join(tempDir(), 'sparse.safetensors');
  const big = 2 ** 32;
  const header = Buffer.from(`{"big":{"dtype":"F32","shape":[${big / 4}],"data_offsets":[0,${big}]},"tail":{"dtype":"F32","shape":[2],"data_offsets":[${big},${big + 8}]}}`);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, Buffer.concat([prefix, header]));
    fs.writeSync(fd, Buffer.from(Float32Array.from([7.5, -3]).buffer), 0, 8, 8 + header.length + big);
  } finally {
    fs.closeSync(fd);
  }
  const start = performance.now();
  using f = SafetensorsFile.open(file);
  assert.deepEqual(f.info('big'), { dtype: 'float32', storedDtype: 'F32', shape: [big / 4], byteLength: big, file });
  leakFree(() => assert.deepEqual(Array.from(f.load('tail').toFloat32Array()), [7.5, -3]));
  assert.ok(performance.now() - start < 1000, 'no pass over the 4 GiB of data');
});

test('load errors: unknown tensor, unknown dtype option, closed file', () => {
  const f = SafetensorsFile.open(fixture('llama-tiny/golden_logits.safetensors'));
  assert.throws(() => f.load('seq8'), { name: 'SafetensorsError', message: /golden_logits\.safetensors: no tensor named "seq8" \(the file has 3\)/ });
  assert.throws(() => f.load('seq7', { dtype: 'float8' as torch.DType }), { name: 'TypeError', message: /load\("seq7"\): unknown dtype string "float8"/ });
  f.close();
  assert.equal(f.closed, true);
  assert.throws(() => f.load('seq7'), /cannot read tensor "seq7": the file is closed/);
  assert.deepEqual(f.info('seq7').shape, [1, 2, 128256], 'the header stays readable');
});

test('sharded save splits as Hugging Face does, and openCheckpoint reads every tensor back', () => {
  const dir = tempDir();
  leakFree(() => {
    const t = (n: number, seed: number): torch.Tensor => torch.randn([n], { generator: new torch.Generator(seed) });
    // insertion order a, b, big, c, d, e, f; 400-byte tensors, one of 2000 bytes; shards of at most 1000 bytes
    const tensors = new Map<string, torch.Tensor>([['a', t(100, 1)], ['b', t(100, 2)], ['big', t(500, 3)], ['c', t(100, 4)], ['d', t(100, 5)], ['e', t(100, 6)], ['f', t(100, 7)]]);
    const saved = saveCheckpoint(dir, tensors, { maxShardBytes: 1000 });
    const shards = [1, 2, 3, 4].map((i) => `model-0000${i}-of-00004.safetensors`);
    assert.deepEqual(saved.files, shards.map((s) => path.join(dir, s)));
    assert.equal(saved.totalSize, 4400);
    assert.deepEqual(fs.readdirSync(dir).sort(), [...shards, 'model.safetensors.index.json'].sort(), 'no temporary file is left');
    const indexText = fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8');
    const index = JSON.parse(indexText);
    assert.equal(indexText, `${JSON.stringify(index, null, 2)}\n`, 'indent 2, trailing newline');
    assert.deepEqual(index.metadata, { total_size: 4400 });
    // the oversized tensor takes a shard of its own as soon as it is met; the others fill shards in order
    const expected = { a: shards[1], b: shards[1], big: shards[0], c: shards[2], d: shards[2], e: shards[3], f: shards[3] };
    assert.deepEqual(index.weight_map, expected);
    assert.deepEqual(Object.keys(index.weight_map), Object.keys(expected).sort(), 'weight_map sorted by name');
    for (const shard of shards) {
      using f = SafetensorsFile.open(path.join(dir, shard));
      assert.deepEqual(f.metadata, { format: 'pt' });
      assert.deepEqual([...f.names].sort(), Object.entries(expected).filter(([, s]) => s === shard).map(([n]) => n).sort());
    }
    using ckpt = openCheckpoint(dir);
    assert.deepEqual([...ckpt.names].sort(), [...tensors.keys()].sort());
    assert.deepEqual(ckpt.metadata, { total_size: 4400 });
    assert.equal(ckpt.info('c').file, path.join(dir, shards[2]!));
    for (const [name, original] of tensors) assert.ok(Buffer.from(ckpt.load(name).bytes()).equals(original.bytes()), name);
    ckpt.close();

    // saved again unsharded: one model.safetensors, and the stale shards and index are gone
    const single = saveCheckpoint(dir, tensors);
    assert.deepEqual(single, { files: [path.join(dir, 'model.safetensors')], index: undefined, totalSize: 4400 });
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
    using again = openCheckpoint(dir);
    for (const [name, original] of tensors) assert.ok(Buffer.from(again.load(name).bytes()).equals(original.bytes()), name);
    again.close();

    // and sharded once more: the stale model.safetensors goes (it would shadow the index)
    saveCheckpoint(dir, tensors, { maxShardBytes: 2000, metadata: { step: '7' } });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    using third = openCheckpoint(dir);
    using firstShard = SafetensorsFile.open(third.files[0]!);
    assert.deepEqual(firstShard.metadata, { format: 'pt', step: '7' });
    for (const [name, original] of tensors) assert.ok(Buffer.from(third.load(name).bytes()).equals(original.bytes()), name);
  });
});

// ---- strict validation -------------------------------------------------------------------------

test('corrupt files give errors that name the file, the tensor, and what was expected', () => {
  const dir = tempDir();
  const fdsBefore = openFds();
  const f32 = (begin: number, end: number, shape = '[2]'): string => `{"dtype":"F32","shape":${shape},"data_offsets":[${begin},${end}]}`;
  const llama = fs.readFileSync(fixture('llama-tiny/model.safetensors'));
  const golden = fs.readFileSync(fixture('llama-tiny/golden_logits.safetensors'));
  const cases: [string, (file: string) => void, RegExp, string?][] = [
    ['short', (p) => fs.writeFileSync(p, Buffer.from([1, 2, 3, 4, 5])), /file is 5 bytes, shorter than the 8-byte header length/],
    ['header past end', (p) => rawFile(p, '{}' + ' '.repeat(18), undefined, 1000n), /header length 1000 runs past the end of the file \(truncated: expected at least 1008 bytes, file has 28\)/],
    ['huge header', (p) => rawFile(p, '{}', undefined, 2n ** 62n), /header length 4611686018427387904 is above the 100000000-byte limit/],
    ['bad json', (p) => rawFile(p, '{"w": nope}'), /header is not valid JSON \(.*\); it begins "\{\\"w\\": nope\}"/],
    ['not utf-8', (p) => rawFile(p, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/],
    ['not an object', (p) => rawFile(p, '[1,2]'), /header must be a JSON object, found an array \[1,2\]/],
    ['entry not object', (p) => rawFile(p, '{"w":3}'), /tensor "w": expected an object \{dtype, shape, data_offsets\}, found number 3/, 'w'],
    ['missing dtype', (p) => rawFile(p, '{"w":{"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": "dtype" must be a string, found nothing \(missing\)/, 'w'],
    ['shape of strings', (p) => rawFile(p, '{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', new Uint8Array(8)), /tensor "w": "shape" must be an array of non-negative integers, found an array \["2"\]/, 'w'],
    ['negative shape', (p) => rawFile(p, '{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', new Uint8Array(8)), /tensor "w": "shape" must be an array of non-negative integers, found an array \[-2\]/, 'w'],
    ['missing offsets', (p) => rawFile(p, '{"w":{"dtype":"F32","shape":[2]}}'), /tensor "w": "data_offsets" must be \[begin, end\] with 0 <= begin <= end, found nothing \(missing\)/, 'w'],
    ['reversed offsets', (p) => rawFile(p, `{"w":${f32(8, 0)}}`, new Uint8Array(8)), /tensor "w": "data_offsets" must be \[begin, end\] with 0 <= begin <= end, found an array \[8,0\]/, 'w'],
    ['bad dtype', (p) => rawFile(p, '{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', new Uint8Array(2)), /tensor "w": unsupported dtype "F8_E4M3" \(intuitor reads .*BF16.*\)/, 'w'],
    ['wrong size', (p) => rawFile(p, `{"w":${f32(0, 12, '[2,2]')}}`, new Uint8Array(12)), /tensor "w": data_offsets \[0, 12\] hold 12 bytes, but shape \[2,2\] of F32 needs 16 \(4 elements x 4 bytes\)/, 'w'],
    ['overlap', (p) => rawFile(p, `{"a":${f32(0, 8)},"b":${f32(4, 12)}}`, new Uint8Array(12)), /tensors "a" data_offsets \[0, 8\] and "b" data_offsets \[4, 12\] overlap/, 'b'],
    ['gap', (p) => rawFile(p, `{"a":${f32(0, 8)},"b":${f32(12, 20)}}`, new Uint8Array(20)), /tensor "b" data_offsets \[12, 20\] leave a gap: expected it to begin at 8, where "a" ends/, 'b'],
    ['past the end', (p) => rawFile(p, `{"a":${f32(0, 8)}}`, new Uint8Array(5)), /truncated: expected at least 70 bytes, file has 67 \(tensor "a" data_offsets \[0, 8\] end at byte 70\)/, 'a'],
    ['truncated fixture', (p) => fs.writeFileSync(p, llama.subarray(0, 1_000_000)), /truncated: expected at least 16460296 bytes, file has 1000000 \(tensor "lm_head\.weight"/, 'lm_head.weight'],
    ['trailing bytes', (p) => fs.writeFileSync(p, Buffer.concat([golden, Buffer.from([1, 2, 3])])), /3 bytes of unexpected data after the last tensor: the header's data_offsets end at byte 4104472, the file has 4104475/],
    ['bad metadata', (p) => rawFile(p, '{"__metadata__":{"format":1}}'), /"__metadata__" must map strings to strings, found "format": number 1/],
  ];
  for (const [label, build, message, tensor] of cases) {
    const file = path.join(dir, `${label.replaceAll(' ', '-')}.safetensors`);
    build(file);
    assert.throws(
      () => SafetensorsFile.open(file),
      (error: unknown) => {
        assert.ok(error instanceof SafetensorsError, `${label}: a SafetensorsError`);
        assert.ok(error.message.startsWith(`safetensors: ${file}: `), `${label}: names the file: ${error.message}`);
        assert.match(error.message, message, label);
        assert.equal(error.tensor, tensor, `${label}: tensor`);
        return true;
      },
      label,
    );
  }
  if (fdsBefore !== undefined) assert.equal(openFds(), fdsBefore, 'failed opens close their file descriptors');
});

test('sharded checkpoint errors: missing shard, tensor missing from its shard, bad index', () => {
  const dir = tempDir();
  const shard1 = 'model-00001-of-00002.safetensors';
  const shard2 = 'model-00002-of-00002.safetensors';
  leakFree(() => writeSafetensors(path.join(dir, shard1), { a: torch.ones([2]) }));
  const index = (weightMap: unknown): void => fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 8 }, weight_map: weightMap }));
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  const fdsBefore = openFds();
  index({ a: shard1, b: shard2 });
  assert.throws(() => openCheckpoint(dir), { message: `safetensors: ${indexPath}: shard "${shard2}" (holding tensor "b") is missing: no file ${path.join(dir, shard2)}` });
  index({ a: shard1, ghost: shard1 });
  assert.throws(() => openCheckpoint(dir), { message: `safetensors: ${indexPath}: tensor "ghost" is mapped to shard "${shard1}", but that shard has no such tensor (${path.join(dir, shard1)})` });
  index({ a: '../elsewhere.safetensors' });
  assert.throws(() => openCheckpoint(dir), /maps tensor "a" to "\.\.\/elsewhere\.safetensors", which is not a file name in the checkpoint folder/);
  index([shard1]);
  assert.throws(() => openCheckpoint(dir), /"weight_map" must be an object \{tensor name: shard file\}, found an array/);
  fs.writeFileSync(indexPath, '{"weight_map": ');
  assert.throws(() => openCheckpoint(dir), new RegExp(`safetensors: ${indexPath.replaceAll('.', '\\.')}: cannot read the index: .*JSON`));
  // a corrupt shard reports its own file
  index({ a: shard1, b: shard2 });
  fs.writeFileSync(path.join(dir, shard2), Buffer.from([9, 9]));
  assert.throws(() => openCheckpoint(dir), { message: `safetensors: ${path.join(dir, shard2)}: file is 2 bytes, shorter than the 8-byte header length that starts every safetensors file` });
  if (fdsBefore !== undefined) assert.equal(openFds(), fdsBefore, 'shards opened before the error are closed');
  const empty = tempDir();
  assert.throws(() => openCheckpoint(empty), { message: `safetensors: ${empty}: not a safetensors checkpoint: found neither model.safetensors nor model.safetensors.index.json` });
  assert.throws(() => openCheckpoint(path.join(empty, 'nope')), /cannot open checkpoint: ENOENT/);
});

test('the writer rejects bad input before creating any file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bad.safetensors');
  leakFree(() => {
    const ok = torch.ones([2]);
    assert.throws(() => writeSafetensors(file, { __metadata__: ok }), /a tensor cannot be named "__metadata__"/);
    assert.throws(() => writeSafetensors(file, { w: ok }, { step: 3 as unknown as string }), /metadata values must be strings, found "step": number 3/);
    assert.throws(() => writeSafetensors(file, { w: [1, 2] as unknown as torch.Tensor }), /tensor "w" is not a Tensor, found an array \[1,2\]/);
    assert.throws(() => saveCheckpoint(dir, { w: ok }, { maxShardBytes: 0 }), /maxShardBytes must be a positive number, found number 0/);
  });
  assert.deepEqual(fs.readdirSync(dir), []);
});

// ---- atomic writes -----------------------------------------------------------------------------

test('an interrupted write leaves nothing under the final name and no temporary file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.safetensors');
  leakFree(() => {
    // a disposed tensor after a valid one
    const gone = torch.ones([4]);
    void gone.shape;
    gone.dispose();
    assert.throws(() => writeSafetensors(file, new Map([['a', torch.ones([1000])], ['b', gone]])), { name: 'SafetensorsError', message: `safetensors: ${file}: tensor "b" is disposed` });
    assert.deepEqual(fs.readdirSync(dir), []);

    // failing midway: the first tensor's bytes are already in the temporary file when the second fails
    const a = torch.randn([256, 1024]);
    const b = torch.ones([8]);
    let seen: { name: string; size: number }[] = [];
    const failing = new Proxy(b, {
      get(target, prop) {
        if (prop === 'bytes') {
          return () => {
            seen = fs.readdirSync(dir).map((name) => ({ name, size: fs.statSync(path.join(dir, name)).size }));
            throw new Error('disk on fire');
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    assert.throws(() => writeSafetensors(file, { a, b: failing }), { message: `safetensors: ${file}: writing failed at tensor "b": disk on fire` });
    assert.equal(seen.length, 1, 'a temporary file was being written');
    assert.notEqual(seen[0]!.name, 'model.safetensors');
    assert.ok(seen[0]!.size >= 8 + 256 * 1024 * 4, `the temporary file held the first tensor (${seen[0]!.size} bytes)`);
    assert.equal(fs.existsSync(file), false, 'nothing under the final name');
    assert.deepEqual(fs.readdirSync(dir), [], 'the temporary file is removed');

    // an existing file survives a failed overwrite byte for byte
    writeSafetensors(file, { a });
    const before = fs.readFileSync(file);
    assert.throws(() => writeSafetensors(file, { a: torch.zeros([3]), b: failing }), /disk on fire/);
    assert.ok(fs.readFileSync(file).equals(before));
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);

    // a sharded save that fails in its last shard leaves the earlier checkpoint as it was
    assert.throws(() => saveCheckpoint(dir, { a: torch.zeros([1000]), c: torch.zeros([1000]), z: failing }, { maxShardBytes: 4000 }), /writing failed at tensor "z": disk on fire/);
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
    assert.ok(fs.readFileSync(file).equals(before));
  });
});
