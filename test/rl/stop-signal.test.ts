// SIGTERM / SIGINT during `intuitor train`: the step finishes, a checkpoint is written, the command
// that resumes is printed, and resuming it ends with the weights of a run never stopped; a second
// signal stops at once. With --nproc, a Ctrl-C (SIGINT to the whole process group) reaches the
// launcher and the workers, and still stops them cleanly, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { readMetrics } from '../../src/rl/trainer.ts';
import { freeLoopbackPort } from '../../src/torch/distributed.ts';
import { loadModel } from '../../src/model/load.ts';
import { fixtureDir } from '../helpers/cli.ts';
import { parameterBytes } from '../helpers/model-bytes.ts';

const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'intuitor-stop-'));
const data = join(folder, 'data.jsonl');
writeFileSync(data, ['1+1', '2+2', '3+3', '4+4'].map((q) => JSON.stringify({ question: q })).join('\n'));
const STEPS = 6;
const args = (output: string, extra: string[] = []) => [bin, 'train', '--model', fixtureDir('llama-tiny'), '--data', data, '--output', output, '--steps', String(STEPS),
  '--save-steps', '100', '--prompts-per-step', '2', '--num-generations', '2', '--max-completion-length', '4', '--learning-rate', '1e-3', '--instruction', '', '--system', '', ...extra];
const finalModel = (run: string) => join(latestCheckpoint(run)!.dir, 'model');

// The run every stopped run must end up equal to.
const whole = join(folder, 'whole');
const unbroken = spawnSync(process.execPath, args(whole), { encoding: 'utf8' });
assert.equal(unbroken.status, 0, unbroken.stderr);
test.after(() => rmSync(folder, { recursive: true, force: true }));

/** A child whose stderr is collected, with a way to wait for a pattern in it and for its exit. */
function start(argv: string[], options: { detached?: boolean } = {}) {
  const child: ChildProcess = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    stderr: () => stderr,
    exit,
    async waitFor(pattern: RegExp, seconds = 60) {
      const deadline = Date.now() + seconds * 1000;
      while (!pattern.test(stderr)) {
        assert.ok(Date.now() < deadline, `no ${pattern} within ${seconds} s:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

/** The command a stopped run printed, run as printed (its arguments split at spaces: the paths here have none). */
function runPrintedResume(stderr: string): void {
  const command = /^resume with: intuitor (.*)$/m.exec(stderr)?.[1];
  assert.ok(command, `no resume command printed:\n${stderr}`);
  const resumed = spawnSync(process.execPath, [bin, ...command.split(' ')], { encoding: 'utf8', cwd: tmpdir() });
  assert.equal(resumed.status, 0, resumed.stderr);
}

function assertStoppedCleanly(run: string, stderr: string, signal: 'SIGINT' | 'SIGTERM') {
  const stopped = latestCheckpoint(run)!.state.step;
  assert.ok(stopped >= 1 && stopped < STEPS, `stopped after step ${stopped}`);
  assert.match(stderr, new RegExp(`\\[stopped by SIGTERM after step ${stopped} of ${STEPS}: checkpoint written to ${run}/checkpoints/step-0+${stopped}\\]`));
  assert.deepEqual(readMetrics(run).map((m) => m.step), Array.from({ length: stopped }, (_, i) => i + 1), 'every finished step is logged, none after');
  assert.doesNotMatch(stderr, /error|was killed/i, `${signal} is not a failure`);
}

test('SIGTERM: the step finishes, a checkpoint is written, exit 143; the printed command resumes to the weights of an unbroken run', async () => {
  const run = join(folder, 'term');
  const training = start(args(run));
  await training.waitFor(/\[training /); // the listeners are in place
  training.child.kill('SIGTERM');
  const { code, signal } = await training.exit;
  assert.deepEqual({ code, signal }, { code: 143, signal: null }, training.stderr());
  assertStoppedCleanly(run, training.stderr(), 'SIGTERM');
  assert.match(training.stderr(), new RegExp(`^resume with: intuitor train --resume ${run}$`, 'm'));
  runPrintedResume(training.stderr());
  assert.equal(latestCheckpoint(run)!.state.step, STEPS);
  const [a, b] = [parameterBytes(finalModel(whole)), parameterBytes(finalModel(run))];
  for (const [name, bytes] of a) assert.deepEqual(b.get(name), bytes, `${name} differs after a stop and resume`);
  assert.deepEqual(readMetrics(run).map((m) => m.reward), readMetrics(whole).map((m) => m.reward));
});

test('a second SIGINT stops at once, without the checkpoint the first one asked for', async () => {
  const run = join(folder, 'twice');
  // Long steps (64 tokens x 16 responses), so that the second signal comes while the first step still runs.
  const training = start(args(run, ['--max-completion-length', '64', '--num-generations', '8']));
  await training.waitFor(/\[training /);
  training.child.kill('SIGINT');
  await training.waitFor(/\[SIGINT: finishing the current step, then writing a checkpoint; Ctrl-C again stops at once\]/);
  training.child.kill('SIGINT');
  const { code, signal } = await training.exit;
  assert.deepEqual({ code, signal }, { code: null, signal: 'SIGINT' }, training.stderr());
  assert.equal(latestCheckpoint(run), undefined, 'no checkpoint was written');
  assert.doesNotMatch(training.stderr(), /\[stopped by/);
});

test('--nproc 2: Ctrl-C reaches the launcher and both workers; rank 0 saves, all exit cleanly with 130, and the run resumes', async () => {
  const run = join(folder, 'parallel');
  // detached: a process group of its own, which the test signals as a terminal would.
  const training = start(args(run, ['--nproc', '2', '--master-port', String(await freeLoopbackPort())]), { detached: true });
  await training.waitFor(/\[training .* on 2 processes/);
  await training.waitFor(/^train [1-9]/m); // a step is done: both workers listen by now
  process.kill(-training.child.pid!, 'SIGINT');
  const { code, signal } = await training.exit;
  assert.deepEqual({ code, signal }, { code: 130, signal: null }, training.stderr());
  assert.match(training.stderr(), /\[SIGINT: the workers finish their step and rank 0 writes a checkpoint; Ctrl-C again stops them at once\]/);
  assert.doesNotMatch(training.stderr(), /\[rank 1\]/, 'rank 1 had nothing to say: it stopped as asked');
  assertStoppedCleanly(run, training.stderr(), 'SIGINT');
  assert.match(training.stderr(), new RegExp(`^resume with: intuitor train --resume ${run} --nproc 2$`, 'm'));
  assert.equal((training.stderr().match(/^resume with:/gm) ?? []).length, 1, 'one resume command, the launcher\'s');
  // The printed command, on another free port: the run ends at its last step, close to the one-process run (float32
  // self-certainty of batches of another shape, see test/rl/data-parallel.test.ts).
  const port = String(await freeLoopbackPort());
  runPrintedResume(training.stderr().replace(/--nproc 2$/m, `--nproc 2 --master-port ${port}`));
  assert.equal(latestCheckpoint(run)!.state.step, STEPS);
  assert.deepEqual(readMetrics(run).map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  const [a, b] = [loadModel(finalModel(whole)), loadModel(finalModel(run))];
  try {
    for (const [name, p] of a.params) {
      const [x, y] = [p.toFloat32Array(), b.params.get(name)!.toFloat32Array()];
      let difference = 0;
      for (let i = 0; i < x.length; i++) difference = Math.max(difference, Math.abs(x[i]! - y[i]!));
      assert.ok(difference < 1e-4, `${name} differs by ${difference} from the unbroken run`);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('--nproc 2: a second SIGTERM to the launcher kills the workers at once and says where the run can continue', async () => {
  const run = join(folder, 'parallel-twice');
  const training = start(args(run, ['--nproc', '2', '--master-port', String(await freeLoopbackPort()), '--max-completion-length', '64', '--num-generations', '8']));
  await training.waitFor(/\[training .* on 2 processes/);
  training.child.kill('SIGTERM');
  await training.waitFor(/\[SIGTERM: the workers finish their step/);
  training.child.kill('SIGTERM');
  const { code } = await training.exit;
  assert.equal(code, 1, training.stderr());
  assert.match(training.stderr(), new RegExp(`stopped at once by a second SIGTERM; the other workers were stopped\\. ${run} keeps its last complete checkpoint: continue with \`intuitor train --resume ${run} --nproc 2\``));
  assert.equal(latestCheckpoint(run), undefined);
});
