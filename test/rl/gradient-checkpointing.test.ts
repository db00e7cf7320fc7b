// --gradient-checkpointing: a GRPO step that recomputes every decoder layer in backward moves the
// weights as the plain step does; auto keeps it off for small models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/load.ts';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { usesGradientCheckpointing } from '../../src/rl/policy.ts';
import { fixtureDir, runCli } from '../helpers/cli.ts';

const qwen = fixtureDir('qwen2-tiny');

test('two GRPO steps with every layer recomputed in backward end at the weights of the plain steps', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-checkpointing-'));
  try {
    const data = join(folder, 'data.jsonl');
    writeFileSync(data, '{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+3?", "answer": "#### 5"}\n');
    const run = async (setting: string) => {
      const output = join(folder, setting);
      const out = await runCli('train', '--model', qwen, '--data', data, '--output', output, '--steps', '2', '--prompts-per-step', '2', '--num-generations', '3', '--max-completion-length', '6', '--micro-batch-size', '4', '--learning-rate', '1e-3', '--beta', '0.01', '--gradient-checkpointing', setting);
      assert.equal(out.code, 0, out.stderr);
      const metrics = readFileSync(join(output, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { loss: number; gradNorm: number });
      return { model: loadModel(join(latestCheckpoint(output)!.dir, 'model')), stderr: out.stderr, metrics };
    };
    const plain = await run('off');
    const recomputed = await run('on');
    assert.match(recomputed.stderr, /gradient checkpointing: each decoder layer recomputed in backward/);
    assert.doesNotMatch(plain.stderr, /gradient checkpointing/);
    // The same rollouts (same seeds), so the first step's loss and gradient norm agree to rounding.
    const [first, second] = [plain.metrics, recomputed.metrics].map((m) => m[0]!);
    assert.ok(Math.abs(first!.loss - second!.loss) <= 1e-6 + 1e-5 * Math.abs(first!.loss), `loss ${first!.loss} vs ${second!.loss}`);
    assert.ok(Math.abs(first!.gradNorm - second!.gradNorm) <= 1e-5 * first!.gradNorm, `grad norm ${first!.gradNorm} vs ${second!.gradNorm}`);
    // Adam divides each gradient by its own size, so weights whose gradient is near zero amplify
    // rounding; taken together the two runs' weights differ by far less than the steps moved them.
    const start = loadModel(qwen);
    let moved = 0;
    let apart = 0;
    for (const [name, p] of plain.model.params) {
      const a = p.toFloat32Array();
      const b = recomputed.model.params.get(name)!.toFloat32Array();
      const s = start.params.get(name)!.toFloat32Array();
      for (let i = 0; i < a.length; i++) {
        moved += Math.abs(a[i]! - s[i]!);
        apart += Math.abs(a[i]! - b[i]!);
      }
    }
    assert.ok(moved > 0, 'the steps moved the weights');
    assert.ok(apart < 1e-2 * moved, `the runs differ by ${apart}, the steps moved ${moved}`);
    for (const m of [plain.model, recomputed.model, start]) m.dispose();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('--gradient-checkpointing auto: off for a small model; on and off as asked', () => {
  const model = loadModel(qwen);
  assert.equal(usesGradientCheckpointing('auto', model), false);
  assert.equal(usesGradientCheckpointing('on', model), true);
  assert.equal(usesGradientCheckpointing('off', model), false);
  model.dispose();
});
