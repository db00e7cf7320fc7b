// `intuitor init`: a random model that loads back with the shapes its config implies, weights drawn
// as specified (norms 1, biases 0, matrices with std 0.02), and the same seed gives the same bytes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { loadModel } from '../../src/model/load.ts';
import { expectedParameters } from '../../src/model/parameters.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const root = mkdtempSync(join(tmpdir(), 'intuitor-init-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { stdout: { write: () => true }, stderr: { write: () => true } } as never;

test('init -> loadModel: shapes, special ids, initial values', async () => {
  const out = join(root, 'a');
  assert.equal(await main(['init', '--model-config', 'arith-tiny', '--tokenizer', 'arith', '--output', out, '--seed', '3'], quiet), 0);
  const tokenizer = await Tokenizer.fromDir(out);
  const model = loadModel(out);
  try {
    assert.equal(model.config.vocabSize, tokenizer.vocabSize);
    assert.deepEqual(model.config.eosTokenIds, [tokenizer.eosTokenId]);
    assert.equal(model.config.padTokenId, tokenizer.padTokenId);
    assert.equal(model.config.hiddenSize, 128);
    assert.ok(model.config.tieWordEmbeddings && model.config.attentionBias);
    const expected = expectedParameters(model.config);
    assert.deepEqual([...model.params.keys()].sort(), [...expected.keys()].sort());
    for (const [name, p] of model.params) {
      assert.deepEqual(p.shape, expected.get(name));
      const values = p.toFloat32Array();
      if (name.endsWith('norm.weight')) assert.ok(values.every((v) => v === 1), name);
      else if (name.endsWith('.bias')) assert.ok(values.every((v) => v === 0), name);
      else {
        const std = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
        assert.ok(Math.abs(std - 0.02) < 0.002, `${name}: std ${std}`);
      }
    }
  } finally {
    model.dispose();
  }
});

test('one seed gives byte-identical folders; another seed different weights', async () => {
  const dirs = ['b', 'c', 'd'].map((d) => join(root, d));
  for (const [i, dir] of dirs.entries()) assert.equal(await main(['init', '--output', dir, '--seed', i < 2 ? '7' : '8'], quiet), 0);
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    assert.ok(readFileSync(join(dirs[0]!, file)).equals(readFileSync(join(dirs[1]!, file))), file);
  }
  assert.ok(!readFileSync(join(dirs[0]!, 'model.safetensors')).equals(readFileSync(join(dirs[2]!, 'model.safetensors'))));
});

test('a config file instead of a preset; bad --model-config is a clear error', async () => {
  const file = join(root, 'config.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify({ model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64 }));
  const out = join(root, 'e');
  assert.equal(await main(['init', '--model-config', file, '--output', out], quiet), 0);
  const model = loadModel(out);
  assert.equal(model.config.modelType, 'llama');
  assert.equal(model.config.numHiddenLayers, 1);
  model.dispose();
  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => ((err += s), true) } } as never;
  assert.equal(await main(['init', '--model-config', 'no-such-preset', '--output', join(root, 'f')], io), 1);
  assert.match(err, /neither a preset/);
});
