// A run is identified by its content, not its path strings: it resumes under a trailing slash, ./,
// an absolute path, after a move or a copy, from any folder, and with its model or data named by
// other paths, ending with the weights of a run never interrupted; a changed dataset, model or
// setting is refused with what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { readRows } from '../../src/data/read-rows.ts';
import { toQaItems } from '../../src/data/qa.ts';
import { resolveTrainConfig } from '../../src/cli/train.ts';
import { readMetrics, train } from '../../src/rl/trainer.ts';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { dataFingerprint, modelFingerprint } from '../../src/rl/run-identity.ts';
import { fixtureDir, runCli } from '../helpers/cli.ts';
import { parameterBytes } from '../helpers/model-bytes.ts';

const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));
const llama = fixtureDir('llama-tiny');
const folder = mkdtempSync(join(tmpdir(), 'intuitor-identity-'));
test.after(() => rmSync(folder, { recursive: true, force: true }));
const data = join(folder, 'data.jsonl');
writeFileSync(data, ['1+1', '2+2', '3+3', '4+4'].map((q) => JSON.stringify({ question: q, answer: `#### ${2 * Number(q[0])}` })).join('\n'));

const settings = ['--steps', '4', '--save-steps', '2', '--prompts-per-step', '2', '--num-generations', '2', '--max-completion-length', '4', '--learning-rate', '1e-3', '--instruction', '', '--system', ''];
const trainArgs = (model: string, dataPath: string, output: string) => ['train', '--model', model, '--data', dataPath, '--output', output, ...settings];

function cli(cwd: string, ...argv: string[]): { status: number | null; stderr: string } {
  return spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', cwd });
}

// The unbroken run, and a run stopped after its step-2 checkpoint (in-process, with the config the command line resolves).
const whole = join(folder, 'whole');
const unbroken = await runCli(...trainArgs(llama, data, whole));
assert.equal(unbroken.code, 0, unbroken.stderr);
const partial = join(folder, 'partial');
{
  const config = resolveTrainConfig({ model: llama, data, output: partial, steps: 4, saveSteps: 2, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 4, learningRate: 1e-3, instruction: '', system: '' });
  await train({ config, tokenizer: await Tokenizer.fromDir(llama), items: toQaItems(await readRows(data), {}, data), untilStep: 2, log: { write: () => true } as never });
  assert.equal(latestCheckpoint(partial)!.state.step, 2);
}
/** A fresh copy of the run stopped at step 2. */
const copyOfPartial = (name: string) => {
  const to = join(folder, name);
  cpSync(partial, to, { recursive: true });
  return to;
};

function assertFinishedLikeWhole(run: string, how: string) {
  assert.equal(latestCheckpoint(run)!.state.step, 4, how);
  assert.deepEqual(readMetrics(run).map((m) => m.step), [1, 2, 3, 4], how);
  const [a, b] = [parameterBytes(join(latestCheckpoint(whole)!.dir, 'model')), parameterBytes(join(latestCheckpoint(run)!.dir, 'model'))];
  for (const [name, bytes] of a) assert.deepEqual(b.get(name), bytes, `${name} differs after resuming (${how})`);
}

test('config.json holds absolute paths, and the fingerprint is the same whatever the spelling', () => {
  const saved = JSON.parse(readFileSync(join(whole, 'config.json'), 'utf8'));
  assert.deepEqual([saved.model, saved.data, saved.output], [llama, data, whole]);
  const relativeConfig = resolveTrainConfig({ model: `${relative(process.cwd(), llama)}/`, data: relative(process.cwd(), data), output: `./${relative(process.cwd(), whole)}` });
  assert.deepEqual([relativeConfig.model, relativeConfig.data, relativeConfig.output], [llama, data, whole]);
  const copy = join(folder, 'model-copy');
  cpSync(llama, copy, { recursive: true });
  assert.equal(modelFingerprint(copy), modelFingerprint(llama), 'a copied model is the same model');
  const items = [{ index: 0, question: 'a', label: '1' }];
  assert.notEqual(dataFingerprint(items), dataFingerprint([{ ...items[0]!, label: '2' }]), 'a changed label is other data');
});

test('--resume under a trailing slash, ./, an absolute path, after a move and a copy, from any folder: the weights of the unbroken run', async () => {
  const slash = copyOfPartial('slash');
  const resumed = await runCli('train', '--resume', `${slash}/`);
  assert.equal(resumed.code, 0, resumed.stderr);
  assertFinishedLikeWhole(slash, 'trailing slash');

  const dotted = copyOfPartial('dotted');
  const fromParent = cli(folder, 'train', '--resume', `./${basename(dotted)}`);
  assert.equal(fromParent.status, 0, fromParent.stderr);
  assertFinishedLikeWhole(dotted, './');

  const moved = join(folder, 'elsewhere', 'moved');
  mkdirSync(dirname(moved));
  renameSync(copyOfPartial('to-move'), moved);
  const fromRoot = cli('/', 'train', '--resume', moved);
  assert.equal(fromRoot.status, 0, fromRoot.stderr);
  assertFinishedLikeWhole(moved, 'moved, resumed from / with an absolute path');

  const copied = copyOfPartial('copied');
  const resumedCopy = await runCli('train', '--resume', copied);
  assert.equal(resumedCopy.code, 0, resumedCopy.stderr);
  assertFinishedLikeWhole(copied, 'copied');
  assert.equal(latestCheckpoint(partial)!.state.step, 2, 'the original is untouched by its copy');
});

test('the same command with the model, data and run named by other paths continues the run', () => {
  const run = copyOfPartial('renamed');
  const cwd = dirname(llama);
  const again = cli(cwd, ...trainArgs(`./${basename(llama)}/`, relative(cwd, data), `${relative(cwd, run)}/`));
  assert.equal(again.status, 0, again.stderr);
  assertFinishedLikeWhole(run, 'other spellings of --model, --data and --output');
});

test('a changed dataset, model or setting is refused, naming what changed; --resume refuses flags that would change the run', async () => {
  const run = copyOfPartial('changed');
  const edited = join(folder, 'edited.jsonl');
  writeFileSync(edited, readFileSync(data, 'utf8').replace('3+3', '3+4'));
  const withData = await runCli(...trainArgs(llama, edited, run));
  assert.equal(withData.code, 1);
  assert.match(withData.stderr, new RegExp(`holds a run with another configuration \\(the training data ${edited} changed since the run started\\); continue that run as it was with \`intuitor train --resume ${run}\``));

  const model = join(folder, 'model-edited');
  cpSync(llama, model, { recursive: true });
  const weights = readFileSync(join(model, 'model.safetensors'));
  const dataStart = 8 + Number(weights.readBigUInt64LE(0));
  weights[dataStart + 100] ^= 0x01; // one bit of one weight
  writeFileSync(join(model, 'model.safetensors'), weights);
  const withModel = await runCli(...trainArgs(model, data, run));
  assert.equal(withModel.code, 1);
  assert.match(withModel.stderr, new RegExp(`the starting model ${model} is not the one the run started from`));

  const withSetting = await runCli(...trainArgs(llama, data, run), '--learning-rate', '2e-3');
  assert.equal(withSetting.code, 1);
  assert.match(withSetting.stderr, /settings differ: --learning-rate 0\.001 then, 0\.002 now\)/);

  const resumeChanging = await runCli('train', '--resume', run, '--learning-rate', '2e-3', '--beta', '0');
  assert.equal(resumeChanging.code, 1);
  assert.match(resumeChanging.stderr, /--resume keeps the run's configuration: --learning-rate, --beta cannot change \(only --steps, --save-steps, --save-total-limit, --log-completions, --device, --gradient-checkpointing can\)/);
  assert.equal(latestCheckpoint(run)!.state.step, 2, 'nothing refused touched the run');
  assert.deepEqual(readMetrics(run).map((m) => m.step), [1, 2]);
});
