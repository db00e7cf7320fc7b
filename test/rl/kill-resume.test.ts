// A training process killed with SIGKILL after a checkpoint resumes to the weights of an unbroken run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latestCheckpoint } from '../../src/rl/checkpoint.ts';
import { fixtureDir } from '../helpers/cli.ts';
import { parameterBytes } from '../helpers/model-bytes.ts';

const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));


test('kill -9 between checkpoints, then --resume: same weights as a run that was never killed', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-kill-'));
  try {
    const data = join(folder, 'data.jsonl');
    writeFileSync(data, ['1+1', '2+2', '3+3', '4+4'].map((q) => JSON.stringify({ question: q })).join('\n'));
    const args = (output: string) => [bin, 'train', '--model', fixtureDir('llama-tiny'), '--data', data, '--output', output, '--steps', '8', '--save-steps', '3',
      '--prompts-per-step', '2', '--num-generations', '2', '--max-completion-length', '4', '--learning-rate', '1e-3', '--instruction', '', '--system', ''];
    const whole = join(folder, 'whole');
    const unbroken = spawnSync(process.execPath, args(whole), { encoding: 'utf8' });
    assert.equal(unbroken.status, 0, unbroken.stderr);

    const broken = join(folder, 'broken');
    const child = spawn(process.execPath, args(broken), { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as the step-3 checkpoint is complete (latest.json points at it), mid-way to step 6.
    const deadline = Date.now() + 60_000;
    while (!(existsSync(join(broken, 'latest.json')) && readFileSync(join(broken, 'latest.json'), 'utf8').includes('step-000003'))) {
      assert.ok(Date.now() < deadline, 'the step-3 checkpoint never appeared');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const stoppedAt = latestCheckpoint(broken)!.state.step;
    assert.ok(stoppedAt === 3 || stoppedAt === 6, `killed after checkpoint ${stoppedAt}`);

    const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', broken], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const a = parameterBytes(join(latestCheckpoint(whole)!.dir, 'model'));
    const b = parameterBytes(join(latestCheckpoint(broken)!.dir, 'model'));
    assert.equal(latestCheckpoint(broken)!.state.step, 8);
    for (const [name, bytes] of a) assert.deepEqual(b.get(name), bytes, `${name} differs after kill -9 and resume`);
    const steps = readFileSync(join(broken, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], 'steps logged after the checkpoint were dropped and redone');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
