// What a run folder keeps: temporary checkpoint folders and files of killed writes are removed on
// start (not those of a writer still running); --save-total-limit keeps the newest N checkpoints and
// never deletes the one resumed from before a newer one is complete; a cut last line of
// metrics.jsonl is dropped on resume, while a broken line inside it is reported with its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { resolveGrpoConfig } from '../../src/rl/config.ts';
import { readMetrics, train } from '../../src/rl/trainer.ts';
import { latestCheckpoint, saveTrainingCheckpoint } from '../../src/rl/checkpoint.ts';
import { parameterBytes } from '../helpers/model-bytes.ts';

const fixture = fileURLToPath(new URL('../fixtures/llama-tiny', import.meta.url));
const tokenizer = await Tokenizer.fromDir(fixture);
const items = ['1+1', '2+2', '3+3'].map((q, index) => ({ index, question: q, label: undefined }));
const quiet = { write: () => true } as never;
const config = (output: string, extra: Record<string, unknown> = {}) =>
  resolveGrpoConfig({ model: fixture, output, steps: 5, saveSteps: 1, promptsPerStep: 1, numGenerations: 2, maxCompletionLength: 3, learningRate: 1e-3, instruction: '', system: '', ...extra });
const checkpoints = (run: string) => readdirSync(join(run, 'checkpoints')).sort();

/** The pid of a process that has exited (so no writer of that pid runs any more). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

test('stale temporary checkpoint folders and files are removed on start; a running writer\'s are kept', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-stale-'));
  try {
    await train({ config: config(run), tokenizer, items, untilStep: 1, log: quiet });
    const dead = deadPid();
    const stale = [join(run, 'checkpoints', `.step-000002.tmp-${dead}`), join(run, 'checkpoints', `.step-000003.tmp-${dead}`)];
    for (const dir of stale) mkdirSync(join(dir, 'model'), { recursive: true });
    writeFileSync(join(run, `latest.json.tmp-${dead}`), '{"step": 2, "chec');
    const running = join(run, 'checkpoints', `.step-000009.tmp-${process.ppid}`); // the test runner: alive
    mkdirSync(running);
    await train({ config: config(run), tokenizer, items, untilStep: 2, log: quiet });
    for (const path of [...stale, join(run, `latest.json.tmp-${dead}`)]) assert.ok(!existsSync(path), `${path} was removed`);
    assert.ok(existsSync(running), 'a temporary folder of a process that still runs is left alone');
    assert.deepEqual(checkpoints(run), [`.step-000009.tmp-${process.ppid}`, 'step-000001', 'step-000002']);
    assert.equal(latestCheckpoint(run)!.state.step, 2);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('--save-total-limit keeps the newest checkpoints; the one resumed from goes only after a newer one is complete', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-limit-'));
  try {
    await train({ config: config(run, { saveTotalLimit: 2 }), tokenizer, items, untilStep: 3, log: quiet });
    assert.deepEqual(checkpoints(run), ['step-000002', 'step-000003']);
    // A leftover of a write killed after its rename but before latest.json pointed at it.
    mkdirSync(join(run, 'checkpoints', 'step-000005'));

    // A checkpoint write that fails (here: a model that cannot be saved) deletes nothing.
    const state = { step: 4, dataCursor: 4, configFingerprint: latestCheckpoint(run)!.state.configFingerprint };
    assert.throws(() => saveTrainingCheckpoint(run, { model: { params: new Map() } as never, optimizer: {} as never, state, keep: 1 }));
    assert.deepEqual(checkpoints(run), ['step-000002', 'step-000003', 'step-000005'], 'nothing was deleted, no temporary folder left');
    assert.equal(latestCheckpoint(run)!.state.step, 3);

    // Resumed with a limit of 1: step 3 stays until step 4 is complete, then only the newest is kept.
    await train({ config: config(run, { saveTotalLimit: 1 }), tokenizer, items, untilStep: 4, log: quiet });
    assert.deepEqual(checkpoints(run), ['step-000004'], 'older ones and the leftover after latest are deleted');
    await train({ config: config(run, { saveTotalLimit: 1 }), tokenizer, items, log: quiet });
    assert.deepEqual(checkpoints(run), ['step-000005']);
    assert.equal(latestCheckpoint(run)!.state.step, 5);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('a cut last line of metrics.jsonl is dropped on resume, and the run ends as an unbroken one; a broken inner line is named', async () => {
  const whole = mkdtempSync(join(tmpdir(), 'intuitor-metrics-whole-'));
  const cut = mkdtempSync(join(tmpdir(), 'intuitor-metrics-cut-'));
  try {
    await train({ config: config(whole, { steps: 4, saveSteps: 2 }), tokenizer, items, log: quiet });
    await train({ config: config(cut, { steps: 4, saveSteps: 2 }), tokenizer, items, untilStep: 3, log: quiet });
    // Killed while appending step 3's line, after the step-2 checkpoint (untilStep leaves step 3 unsaved).
    const metricsPath = join(cut, 'metrics.jsonl');
    const lines = readFileSync(metricsPath, 'utf8').split('\n');
    writeFileSync(metricsPath, `${lines.slice(0, 2).join('\n')}\n${lines[2]!.slice(0, 40)}`);
    assert.deepEqual(readMetrics(cut).map((m) => m.step), [1, 2], 'the cut line is not a record');
    await train({ config: config(cut, { steps: 4, saveSteps: 2 }), tokenizer, items, log: quiet });
    assert.deepEqual(readMetrics(cut).map((m) => m.step), [1, 2, 3, 4]);
    assert.deepEqual(readMetrics(cut).map((m) => m.reward), readMetrics(whole).map((m) => m.reward));
    const [a, b] = [parameterBytes(join(latestCheckpoint(whole)!.dir, 'model')), parameterBytes(join(latestCheckpoint(cut)!.dir, 'model'))];
    for (const [name, bytes] of a) assert.deepEqual(b.get(name), bytes, `${name} differs after repairing metrics.jsonl`);

    const text = readFileSync(metricsPath, 'utf8').split('\n');
    text[1] = '{"step": 2, "loss"';
    writeFileSync(metricsPath, text.join('\n'));
    assert.throws(() => readMetrics(cut), new RegExp(`${metricsPath}:2: not a metrics record \\(.*\\); remove that line \\(or the file\\) to resume`));
  } finally {
    rmSync(whole, { recursive: true, force: true });
    rmSync(cut, { recursive: true, force: true });
  }
});
