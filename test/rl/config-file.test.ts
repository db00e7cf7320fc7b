// Configuration from JSON, strictly typed and with its file named: --config files, a run's saved
// config.json on --resume (a model folder is recognised), values from code (null, "2"), and
// did-you-mean suggestions for misspelt fields and options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTrainConfig } from '../../src/cli/train.ts';
import { resolveGrpoConfig } from '../../src/rl/config.ts';
import { closestName, editDistance } from '../../src/config/did-you-mean.ts';
import { fixtureDir } from '../helpers/cli.ts';

const llama = fixtureDir('llama-tiny');

function withRun(body: (run: string, folder: string) => void): void {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-config-file-'));
  try {
    const run = join(folder, 'run');
    mkdirSync(run);
    body(run, folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const resume = (run: string) => resolveTrainConfig({ resume: run }, new Set(['resume']));

test('--resume reads the saved config.json, and names it when it is cut short, mistyped or a folder', () => {
  withRun((run) => {
    const saved = resolveGrpoConfig({ model: llama, output: run, steps: 4, numGenerations: 3 });
    const config = join(run, 'config.json');
    writeFileSync(config, JSON.stringify(saved, null, 2));
    const resolved = resume(run);
    assert.deepEqual([resolved.steps, resolved.numGenerations, resolved.sequencesPerStep], [4, 3, 12]);

    writeFileSync(config, JSON.stringify(saved).slice(0, 40));
    assert.throws(() => resume(run), new RegExp(`^Error: ${config}:1:41: not valid JSON: it ends early \\(cut short\\?\\)`));
    writeFileSync(config, '');
    assert.throws(() => resume(run), new RegExp(`^Error: ${config}: empty; expected JSON`));
    writeFileSync(config, JSON.stringify({ ...saved, steps: '2' }));
    assert.throws(() => resume(run), new RegExp(`^Error: ${config}: steps: expected an integer, found the string "2"`));
    writeFileSync(config, JSON.stringify({ ...saved, temperature: null }));
    assert.throws(() => resume(run), new RegExp(`^Error: ${config}: temperature: expected a number, found null; leave the field out for the default \\(0\\.9\\)`));
    rmSync(config);
    mkdirSync(config);
    assert.throws(() => resume(run), new RegExp(`^Error: ${config}: cannot read the run's configuration: it is a folder, not a file \\(EISDIR\\)`));
  });
});

test('--resume on a model folder says it is one, instead of "--model is required"', () => {
  assert.throws(() => resume(llama), new RegExp(`^Error: --resume ${llama}: this is a model folder \\(${llama}/config\\.json is the configuration of a llama model\\), not a run folder; to train it, start a run with --model ${llama}`));
  withRun((run) => assert.throws(() => resume(join(run, 'elsewhere')), /no config\.json there; it is not a run folder/));
});

test('--config: fs errors name the path; cross-field errors name the file', () => {
  withRun((run, folder) => {
    assert.throws(() => resolveTrainConfig({ config: run }, new Set()), new RegExp(`^Error: --config ${run}: cannot read the configuration file: it is a folder, not a file \\(EISDIR\\)`));
    const missing = join(folder, 'missing.json');
    assert.throws(() => resolveTrainConfig({ config: missing }, new Set()), new RegExp(`${missing}: cannot read the configuration file: no such file \\(ENOENT\\)`));
    const file = join(folder, 'grpo.json');
    writeFileSync(file, JSON.stringify({ model: llama, reward: 'accuracy' }));
    assert.throws(() => resolveTrainConfig({ config: file }, new Set()), new RegExp(`^Error: --config ${file}: --reward: unknown reward accuracy`));
    writeFileSync(file, JSON.stringify({ model: llama, learning_rate: 1e-5, warmup: 0.1 }));
    assert.throws(() => resolveTrainConfig({ config: file }, new Set()), /unknown fields learning_rate, warmup; the fields are the flags in camelCase \(did you mean learningRate for learning_rate\?\)/);
    writeFileSync(file, JSON.stringify({ model: llama, steps: 0 }));
    assert.throws(() => resolveTrainConfig({ config: file }, new Set()), /grpo\.json: steps: must be >= 1, found 0/);
    writeFileSync(file, JSON.stringify({ model: llama, lossType: 'ppo' }));
    assert.throws(() => resolveTrainConfig({ config: file }, new Set()), /grpo\.json: lossType: expected one of grpo, bnpo, dr_grpo, found the string "ppo"/);
  });
});

test('values from code are typed strictly too: null and numbers as text are refused', () => {
  assert.throws(() => resolveGrpoConfig({ model: 'm', temperature: null }), /--temperature expects a number, got null; leave it out for the default/);
  assert.throws(() => resolveGrpoConfig({ model: 'm', steps: '2' }), /--steps expects an integer, got "2"/);
  assert.throws(() => resolveGrpoConfig({ model: 'm', chat: 'true' }), /--chat expects true or false, got "true"/);
  assert.throws(() => resolveGrpoConfig({ model: 'm', learning_rate: 1e-5 }), /unknown option: --learning_rate \(did you mean --learning-rate\?\)/);
  assert.equal(resolveGrpoConfig({ model: 'm', steps: 2 }).steps, 2);
});

test('did-you-mean: separators and case ignored, then the nearest name within a few edits', () => {
  const known = ['learningRate', 'numGenerations', 'steps', 'seed', 'beta', 'maxCompletionLength'];
  assert.equal(closestName('learning_rate', known), 'learningRate');
  assert.equal(closestName('learning-rate', known), 'learningRate');
  assert.equal(closestName('LearningRate', known), 'learningRate');
  assert.equal(closestName('numGeneration', known), 'numGenerations');
  assert.equal(closestName('max_completion_lenght', known), 'maxCompletionLength');
  assert.equal(closestName('step', known), 'steps');
  assert.equal(closestName('epochs', known), undefined);
  assert.equal(closestName('beat', known), undefined, 'a transposition in a short name is two edits');
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
});
