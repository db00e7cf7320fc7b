// The training loop end to end on the fixture model: every parameter moves and every metric is
// finite; a run stopped at a checkpoint and resumed ends with the same weights as an unbroken one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { resolveGrpoConfig } from '../../src/rl/config.ts';
import { readMetrics, scalarsOf, train } from '../../src/rl/trainer.ts';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { parameterBytes } from '../helpers/model-bytes.ts';

const fixture = fileURLToPath(new URL('../fixtures/llama-tiny', import.meta.url));
const tokenizer = await Tokenizer.fromDir(fixture);
const items = ['1+1', '2+2', '3+3', '4+4', '5+5'].map((q, index) => ({ index, question: `What is ${q}?`, label: String(2 * (index + 1)) }));
const quiet = { write: () => true } as never;

function config(output: string, extra: Record<string, unknown> = {}) {
  return resolveGrpoConfig({
    model: fixture, output, steps: 6, promptsPerStep: 2, numGenerations: 3, microBatchSize: 4, maxCompletionLength: 4,
    learningRate: 1e-3, beta: 0.01, saveSteps: 3, seed: 1, instruction: '', system: '', logCompletions: 1, ...extra,
  });
}


test('three steps move every parameter, log finite metrics and checkpoint atomically', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-train-'));
  try {
    const before = parameterBytes(fixture);
    const history = await train({ config: config(run, { steps: 3, reward: 'self-certainty,format', rewardWeights: '1,0.5', numIterations: 2 }), tokenizer, items, log: quiet });
    assert.equal(history.length, 3);
    for (const m of history) {
      for (const value of [m.loss, m.reward, m.kl, m.clipFraction, m.gradNorm, m.entropy, m.completionLength, m.selfCertainty.mean, m.lr, m.tokensPerSecond]) {
        assert.ok(Number.isFinite(value), `step ${m.step}: ${JSON.stringify(m)}`);
      }
      assert.ok(m.selfCertainty.mean > 0 && m.gradNorm > 0);
      assert.deepEqual(Object.keys(m.rewards), ['self-certainty', 'format']);
      assert.equal(m.samples.length, 1);
      // Answer diversity, logged every step (the random fixture model rarely boxes an answer).
      const a = m.answers!;
      assert.ok(a.distinctShare >= 0 && a.distinctShare <= a.answeredShare && a.answeredShare <= 1, JSON.stringify(a));
      assert.ok(a.top.reduce((sum, t) => sum + t.count, 0) <= 6 && a.repeatedNgramShare >= 0 && a.repeatedNgramShare <= 1, JSON.stringify(a));
      assert.equal(scalarsOf(m)['answers/distinct_share'], a.distinctShare);
    }
    assert.ok(history[2]!.kl > 0, 'the policy drifted from the reference');
    const latest = latestCheckpoint(run)!;
    assert.equal(latest.state.step, 3);
    const after = parameterBytes(join(latest.dir, 'model'));
    for (const [name, bytes] of before) assert.notDeepEqual(after.get(name), bytes, `${name} did not change`);
    assert.deepEqual(readMetrics(run).map((m) => m.step), [1, 2, 3]);
    assert.ok(readdirSync(join(run, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.')), 'TensorBoard events are written');
    assert.deepEqual(readdirSync(join(run, 'checkpoints')), ['step-000003'], 'no temporary folder is left');
    assert.ok(existsSync(join(latest.dir, 'model', 'tokenizer.json')));
    assert.equal(torch.memoryStats().liveTensors, 0, 'training leaves no tensors behind');
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('a run stopped after its step-3 checkpoint and resumed ends with the weights of an unbroken run', async () => {
  const whole = mkdtempSync(join(tmpdir(), 'intuitor-whole-'));
  const broken = mkdtempSync(join(tmpdir(), 'intuitor-broken-'));
  try {
    await train({ config: config(whole), tokenizer, items, log: quiet });
    await train({ config: config(broken), tokenizer, items, log: quiet, untilStep: 3 });
    // The process "died" after logging step 4: a stray line that resuming must drop.
    writeFileSync(join(broken, 'metrics.jsonl'), `${readFileSync(join(broken, 'metrics.jsonl'), 'utf8')}{"step": 4}\n`);
    await train({ config: config(broken), tokenizer, items, log: quiet });
    const a = parameterBytes(join(latestCheckpoint(whole)!.dir, 'model'));
    const b = parameterBytes(join(latestCheckpoint(broken)!.dir, 'model'));
    for (const [name, bytes] of a) assert.deepEqual(b.get(name), bytes, `${name} differs after resuming`);
    assert.deepEqual(readMetrics(broken).map((m) => m.step), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(readMetrics(broken).map((m) => m.reward), readMetrics(whole).map((m) => m.reward));
    await assert.rejects(train({ config: config(broken, { learningRate: 2e-3 }), tokenizer, items, log: quiet }), /holds a run with another configuration/);
  } finally {
    rmSync(whole, { recursive: true, force: true });
    rmSync(broken, { recursive: true, force: true });
  }
});

test('a corrupt checkpoint is reported and left as it is', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-corrupt-'));
  try {
    writeFileSync(join(run, 'latest.json'), '{"checkpoint": "checkpoints/step-000003"}');
    await assert.rejects(train({ config: config(run), tokenizer, items, log: quiet }), /checkpoint .*step-000003 named by .*latest\.json is missing or incomplete; the run folder was left as it is/);
    writeFileSync(join(run, 'latest.json'), '{"checkp');
    await assert.rejects(train({ config: config(run), tokenizer, items, log: quiet }), /latest\.json is corrupt/);
    assert.equal(readFileSync(join(run, 'latest.json'), 'utf8'), '{"checkp');
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
