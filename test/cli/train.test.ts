// `intuitor train` and `intuitor train --resume` through the command line entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir, runCli as run } from '../helpers/cli.ts';

const llama = fixtureDir('llama-tiny');

test('train a few steps, then extend the run with --resume', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-cli-train-'));
  try {
    const data = join(folder, 'data.jsonl');
    writeFileSync(data, '{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+3?", "answer": "#### 5"}\n');
    const output = join(folder, 'run');
    const args = ['train', '--model', llama, '--data', data, '--output', output, '--steps', '2', '--prompts-per-step', '1', '--num-generations', '2', '--max-completion-length', '3'];
    const first = await run(...args, '--reward', 'self-certainty,correctness', '--reward-weights', '1,2');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /with 1 x self-certainty \+ 2 x correctness/);
    const resumed = await run('train', '--resume', output, '--steps', '3');
    assert.equal(resumed.code, 0, resumed.stderr);
    const steps = readFileSync(join(output, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, [1, 2, 3]);
    assert.equal(JSON.parse(readFileSync(join(output, 'config.json'), 'utf8')).steps, 3);
    const bad = await run(...args, '--loss-type', 'ppo');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--loss-type must be one of grpo, bnpo, dr_grpo, got "ppo"|argument 'ppo' is invalid/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('--config supplies fields; flags on the command line override them; bad files are named', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-cli-config-'));
  try {
    const data = join(folder, 'data.jsonl');
    writeFileSync(data, '{"question": "1+1?", "answer": "#### 2"}\n');
    const file = join(folder, 'grpo.json');
    writeFileSync(file, JSON.stringify({ model: llama, data, steps: 1, promptsPerStep: 1, numGenerations: 2, maxCompletionLength: 2, beta: 0, lossType: 'bnpo' }));
    const output = join(folder, 'run');
    const out = await run('train', '--config', file, '--output', output, '--loss-type', 'dr_grpo');
    assert.equal(out.code, 0, out.stderr);
    const saved = JSON.parse(readFileSync(join(output, 'config.json'), 'utf8'));
    assert.deepEqual([saved.steps, saved.numGenerations, saved.beta, saved.lossType, saved.temperature], [1, 2, 0, 'dr_grpo', 0.9]);
    writeFileSync(file, JSON.stringify({ model: llama, num_generations: 4 }));
    const bad = await run('train', '--config', file);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--config .*grpo\.json: unknown field num_generations; the fields are the flags in camelCase/);
    const both = await run('train', '--config', file, '--resume', output);
    assert.match(both.stderr, /--config and --resume exclude each other/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
