// Saving and loading model folders: round trip, atomic replacement, and errors that name the
// file and tensor when a folder does not match its config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { loadModelConfig } from '../../src/model/config.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'intuitor-load-'));
}

test('save -> load round trip is bit-identical, with config, generation config and tokenizer files', () => {
  const work = scratch();
  try {
    for (const fixture of ['qwen2-tiny', 'llama-tiny']) {
      const source = `${fixtures}${fixture}`;
      const model = loadModel(source);
      const out = join(work, fixture);
      saveModel(model, out, { tokenizerDir: source });
      for (const file of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
        assert.ok(existsSync(join(out, file)), `${fixture}: ${file} written`);
      }
      assert.deepEqual(readFileSync(join(out, 'tokenizer.json')), readFileSync(join(source, 'tokenizer.json')));
      const reloaded = loadModel(out);
      assert.deepEqual({ ...loadModelConfig(out), raw: null }, { ...loadModelConfig(source), torchDtype: 'float32', raw: null });
      for (const [name, p] of model.params) {
        assert.deepEqual(reloaded.params.get(name)!.bytes(), p.bytes(), `${fixture}: ${name} differs after the round trip`);
      }
      torch.noGrad(() =>
        torch.scope(() => {
          const ids = torch.tensor([[1, 2, 3, 4]], { dtype: 'int64' });
          assert.equal(model.forward(ids).sub(reloaded.forward(ids)).abs().max().item(), 0);
        }),
      );
      model.dispose();
      reloaded.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('saving in bfloat16 and sharded, then replacing an existing folder atomically', () => {
  const work = scratch();
  try {
    const model = loadModel(`${fixtures}llama-tiny`);
    const out = join(work, 'model');
    saveModel(model, out, { dtype: 'bfloat16', maxShardBytes: 4 * 1024 * 1024 });
    const shards = readdirSync(out).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    assert.ok(shards.length >= 2, `sharded into ${shards.length} files`);
    assert.ok(existsSync(join(out, 'model.safetensors.index.json')));
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
    // The fixture is bf16 on disk, so bf16 -> float32 -> bf16 is exact.
    const reloaded = loadModel(out);
    for (const [name, p] of model.params) assert.deepEqual(reloaded.params.get(name)!.bytes(), p.bytes(), name);
    reloaded.dispose();
    // Overwrite with a single-file float32 save: no stale shard remains, no temporary folder is left.
    saveModel(model, out);
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors']);
    assert.deepEqual(readdirSync(work), ['model']);
    model.dispose();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a checkpoint that does not match its config names the file and tensor', () => {
  const work = scratch();
  try {
    const folder = join(work, 'broken');
    cpSync(`${fixtures}qwen2-tiny`, folder, { recursive: true });
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, intermediate_size: 64 }));
    assert.throws(() => loadModel(folder), {
      message: `${join(folder, 'model.safetensors')}: tensor model.layers.0.mlp.gate_proj.weight has shape [96, 32] but config.json implies [64, 32]`,
    });
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: false }));
    assert.throws(() => loadModel(folder), { message: `${folder}: the checkpoint has no tensor lm_head.weight, which a qwen2 model with this config.json needs` });
    writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
    truncateSync(join(folder, 'model.safetensors'), statSync(join(folder, 'model.safetensors')).size - 100);
    assert.throws(() => loadModel(folder), /truncated/);
    rmSync(join(folder, 'model.safetensors'));
    assert.throws(() => loadModel(folder), /model\.safetensors/);
    assert.equal(torch.memoryStats().liveTensors, 0, 'a failed load frees what it had loaded');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
