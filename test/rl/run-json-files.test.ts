// Every JSON file of a run folder is read with its path in the error: latest.json and
// trainer-state.json cut short or replaced by a folder, the optimizer's metadata corrupt, and the
// optimizer state of another model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import type { CausalLM } from '../../src/model/causal-lm.ts';
import { openCheckpoint, writeSafetensors } from '../../src/model/safetensors.ts';
import { latestCheckpoint, loadOptimizerState, saveTrainingCheckpoint } from '../../src/rl/checkpoint.ts';
import { fixtureDir } from '../helpers/cli.ts';

/** An optimizer that has taken one step, so that it has moments to save. */
function steppedOptimizer(model: CausalLM): torch.MixedPrecisionAdamW {
  const params = model.parameters();
  for (const p of params) p.requiresGrad_(true);
  const optimizer = new torch.MixedPrecisionAdamW(params, { lr: 1e-3 });
  torch.scope(() => params.map((p) => p.square().sum()).reduce((a, b) => a.add(b)).backward());
  optimizer.step();
  optimizer.zeroGrad();
  return optimizer;
}

test("a run folder's JSON files: cut short, or a folder, named with the folder left as it is", () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-run-json-'));
  try {
    const latest = join(run, 'latest.json');
    writeFileSync(latest, '{"step": 3, "checkpoint": "checkpoints/st');
    assert.throws(() => latestCheckpoint(run), new RegExp(`^Error: ${latest} is corrupt or unreadable: ${latest}:1:\\d+: not valid JSON: it ends early \\(cut short\\?\\).*; the run folder was left as it is$`));
    writeFileSync(latest, '[]');
    assert.throws(() => latestCheckpoint(run), new RegExp(`${latest}: expected a JSON object \\(the run's pointer to its newest checkpoint\\), found an array`));
    writeFileSync(latest, JSON.stringify({ step: 3, checkpoint: 'checkpoints/step-000003' }));
    const state = join(run, 'checkpoints', 'step-000003', 'trainer-state.json');
    mkdirSync(state, { recursive: true });
    assert.throws(() => latestCheckpoint(run), new RegExp(`${state}: cannot read the trainer state: it is a folder, not a file \\(EISDIR\\)`));
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('optimizer metadata that is not JSON, and the optimizer state of another model, name optimizer.safetensors', () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-run-json-'));
  const llama = loadModel(fixtureDir('llama-tiny'));
  const qwen = loadModel(fixtureDir('qwen2-tiny'));
  const optimizer = steppedOptimizer(llama);
  const fresh = new torch.MixedPrecisionAdamW(qwen.parameters(), { lr: 1e-3 });
  try {
    const dir = saveTrainingCheckpoint(run, { model: llama, optimizer, state: { step: 1, dataCursor: 0, configFingerprint: 'f' } });
    const path = join(dir, 'optimizer.safetensors');
    // The same names on both fixtures but other shapes: the moments cannot belong to qwen2-tiny.
    assert.throws(() => loadOptimizerState(dir, qwen, fresh), new RegExp(`^Error: ${path}: AdamW state for parameter 0 has shape \\[128256,32\\] but the parameter has \\[151936,32\\]`));

    const file = openCheckpoint(path);
    const tensors = new Map(file.names.map((name) => [name, file.load(name)]));
    const metadata = { ...file.metadata, steps: '{"model.embed_tokens.weight": 1,' };
    file.close();
    writeSafetensors(path, tensors, metadata as Record<string, string>);
    for (const t of tensors.values()) t.dispose();
    assert.throws(() => loadOptimizerState(dir, llama, optimizer), new RegExp(`^Error: ${path}: metadata "steps":1:\\d+: not valid JSON: it ends early`));
  } finally {
    optimizer.dispose();
    fresh.dispose();
    llama.dispose();
    qwen.dispose();
    rmSync(run, { recursive: true, force: true });
  }
});
