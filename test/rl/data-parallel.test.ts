// Data-parallel training (intuitor train --nproc N, Gloo over loopback): the same global batch on
// 2 processes ends with the weights of 1 process; a run saved with N processes resumes with any N;
// a worker that dies stops the run with a clear error instead of a hang, and the run resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/load.ts';
import { freeLoopbackPort as freePort } from '../../src/torch/distributed.ts';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { readMetrics } from '../../src/rl/trainer.ts';
import { BOXED_INSTRUCTION } from '../../src/rl/prompt.ts';

const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));


const arithTiny = fileURLToPath(new URL('../../models/arith-tiny', import.meta.url));
const arithTinyFormat = ['--chat', '--system', '', '--instruction', BOXED_INSTRUCTION];

/** A short run of the embedded model on the built-in arith task. */
function trainArgs(output: string, extra: string[] = []): string[] {
  return [bin, 'train', '--model', arithTiny, '--data', 'arith', '--output', output, '--steps', '3', '--save-steps', '3', ...arithTinyFormat,
    '--prompts-per-step', '4', '--num-generations', '4', '--micro-batch-size', '8', '--max-completion-length', '48', '--learning-rate', '1e-4',
    '--beta', '0.01', '--reward', 'plurality', '--seed', '5', ...extra];
}

function run(args: string[]): string {
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `intuitor ${args.slice(1).join(' ')} failed:\n${result.stderr}`);
  return result.stderr;
}

/** How two runs' updates of the same initial model differ: the largest element, and the L2 norm relative to the update's. */
function compareUpdates(initialDir: string, aDir: string, bDir: string): { maxDifference: number; maxUpdate: number; relativeL2: number } {
  const [w0, a, b] = [loadModel(initialDir), loadModel(aDir), loadModel(bDir)];
  try {
    let [maxDifference, maxUpdate, difference2, update2] = [0, 0, 0, 0];
    for (const [name, p] of w0.params) {
      const [x0, x, y] = [p.toFloat32Array(), a.params.get(name)!.toFloat32Array(), b.params.get(name)!.toFloat32Array()];
      for (let i = 0; i < x0.length; i++) {
        const [update, difference] = [x[i]! - x0[i]!, y[i]! - x[i]!];
        maxDifference = Math.max(maxDifference, Math.abs(difference));
        maxUpdate = Math.max(maxUpdate, Math.abs(update));
        difference2 += difference * difference;
        update2 += update * update;
      }
    }
    return { maxDifference, maxUpdate, relativeL2: Math.sqrt(difference2 / update2) };
  } finally {
    for (const m of [w0, a, b]) m.dispose();
  }
}

const finalModel = (run: string) => join(latestCheckpoint(run)!.dir, 'model');

// Tolerances. Sampling is seeded per prompt, so both runs draw the same responses; with a reward
// computed from the text (plurality vote) the advantages are then identical, and only the order in
// which float32 gradients are summed differs (per process, then across processes): the weights
// agree to float32 rounding (identical here when measured). Self-certainty is computed from float32
// logits whose rounding depends on the batch's shape (rows per process, padding); group
// normalisation divides differences of ~1e-4 between responses by their spread, so the update
// agrees to ~2e-4 of its norm (measured), and we allow 1e-2.
const WEIGHT_TOLERANCE = 1e-6;
const CERTAINTY_RELATIVE_TOLERANCE = 1e-2;

test('2 processes end 3 steps with the weights of 1 process; each run resumes with the other number of processes', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-dp-'));
  try {
    const one = join(folder, 'one');
    const two = join(folder, 'two');
    run(trainArgs(one));
    const log = run(trainArgs(two, ['--nproc', '2', '--master-port', String(await freePort())]));
    assert.match(log, /on 2 processes \(gloo\)/);

    const compared = compareUpdates(arithTiny, finalModel(one), finalModel(two));
    assert.ok(compared.maxDifference <= WEIGHT_TOLERANCE, `weights differ by ${compared.maxDifference} after 3 steps`);
    assert.ok(compared.maxUpdate > 100 * WEIGHT_TOLERANCE, `training moved the weights (${compared.maxUpdate}) far more than the tolerance`);
    // Rank 0 alone logged, once per step, the statistics of the whole batch (4 prompts x 4).
    const [m1, m2] = [readMetrics(one), readMetrics(two)];
    assert.deepEqual(m2.map((m) => m.step), [1, 2, 3]);
    for (const [a, b] of m1.map((m, i) => [m, m2[i]!] as const)) {
      assert.equal(a.completionLength, b.completionLength, `step ${a.step}: same rollouts`);
      assert.deepEqual(a.rewards, b.rewards, `step ${a.step}: same rewards`);
      for (const key of ['loss', 'kl', 'entropy', 'gradNorm'] as const) {
        assert.ok(Math.abs(a[key] - b[key]) <= 1e-5 * Math.max(1, Math.abs(a[key])), `step ${a.step} ${key}: ${a[key]} vs ${b[key]}`);
      }
      assert.ok(Math.abs(a.selfCertainty.std - b.selfCertainty.std) <= 1e-4, `step ${a.step}: certainty std over all sequences`);
      assert.deepEqual(b.answers, a.answers, `step ${a.step}: the answers of every process, gathered`);
      assert.ok(a.answers!.answeredShare > 0.5 && a.answers!.top.length > 0, `step ${a.step}: the embedded model boxes its answers`);
    }

    // Saved with 1, resumed with 2; saved with 2, resumed with 1: both reach step 5 alike.
    run([bin, 'train', '--resume', one, '--steps', '5', '--nproc', '2', '--master-port', String(await freePort())]);
    run([bin, 'train', '--resume', two, '--steps', '5']);
    assert.equal(latestCheckpoint(one)!.state.step, 5);
    assert.equal(latestCheckpoint(two)!.state.step, 5);
    const resumed = compareUpdates(arithTiny, finalModel(one), finalModel(two));
    assert.ok(resumed.maxDifference <= WEIGHT_TOLERANCE, `weights differ by ${resumed.maxDifference} after resuming with the other number of processes`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('Intuitor (self-certainty reward) on 2 processes makes the update of 1 process', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-dp-certainty-'));
  try {
    const certainty = ['--reward', 'self-certainty'];
    run(trainArgs(join(folder, 'one'), certainty));
    run(trainArgs(join(folder, 'two'), [...certainty, '--nproc', '2', '--master-port', String(await freePort())]));
    const compared = compareUpdates(arithTiny, finalModel(join(folder, 'one')), finalModel(join(folder, 'two')));
    assert.ok(compared.relativeL2 <= CERTAINTY_RELATIVE_TOLERANCE, `updates differ by ${compared.relativeL2} of their norm`);
    assert.ok(compared.maxUpdate > 1e-5, 'the weights moved');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

/** The pid of the launcher's worker with the given RANK (Linux /proc). */
function workerPid(launcher: number, rank: number): number | undefined {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== launcher) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`RANK=${rank}`)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

test('a worker killed mid-run stops the run with a clear error, and the run resumes from its last checkpoint', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-dp-kill-'));
  try {
    const output = join(folder, 'run');
    const args = trainArgs(output, ['--nproc', '2', '--master-port', String(await freePort()), '--steps', '200', '--save-steps', '1', '--dist-timeout', '20']);
    const launcher = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    launcher.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!(existsSync(join(output, 'latest.json')) && latestCheckpoint(output)!.state.step >= 2)) {
        assert.ok(Date.now() < deadline, `no checkpoint at step 2 within 60 s:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const victim = workerPid(launcher.pid!, 1);
      assert.ok(victim !== undefined, 'found the rank-1 worker');
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      const code = await exited;
      assert.notEqual(code, 0);
      assert.ok(Date.now() - killedAt < 30_000, 'the run stopped well within the timeout');
      assert.match(stderr, /rank 1 was killed by SIGKILL; the other workers were stopped\. .* keeps its last complete checkpoint: continue with `intuitor train --resume /);
    } finally {
      launcher.kill('SIGKILL');
    }
    const saved = latestCheckpoint(output)!.state.step;
    assert.ok(saved >= 2 && saved < 200, `the last checkpoint (${saved}) survived`);
    run([bin, 'train', '--resume', output, '--steps', String(saved + 1)]);
    assert.equal(latestCheckpoint(output)!.state.step, saved + 1);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('launch settings that cannot work are refused before anything starts', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-dp-bad-'));
  try {
    const refuse = (extra: string[], message: RegExp) => {
      const result = spawnSync(process.execPath, trainArgs(join(folder, 'bad'), extra), { encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, message);
    };
    refuse(['--nnodes', '2', '--node-rank', '2'], /--node-rank 2 is out of range for --nnodes 2: use 0\.\.1/);
    refuse(['--nproc', '3', '--prompts-per-step', '4'], /--prompts-per-step 4 does not split evenly over 3 processes: use a multiple of 3/);
    refuse(['--nproc', '2', '--device', 'cuda:1'], /--device cuda:1 would put all 2 processes on one GPU: use --device cuda/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
