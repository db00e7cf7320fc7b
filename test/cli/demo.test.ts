// `intuitor demo` end to end on a fresh tiny model with a tiny budget: it prints the before/after
// table, and with the self-certainty reward no label reaches the trainer (no accuracy is logged),
// while --reward correctness trains on labels.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { readMetrics } from '../../src/rl/trainer.ts';

const root = mkdtempSync(join(tmpdir(), 'intuitor-demo-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
await main(['init', '--output', join(root, 'model')], quiet);

for (const reward of ['self-certainty', 'correctness']) {
  test(`demo --reward ${reward}`, async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: () => true } } as never;
    const run = join(root, reward);
    const code = await main(['demo', '--model', join(root, 'model'), '--output', run, '--reward', reward, '--steps', '1', '--prompts-per-step', '2', '--num-generations', '2', '--max-completion-length', '6', '--eval-problems', '3'], io);
    assert.equal(code, 0);
    assert.match(out, /\| before +\| +\d+\.\d%/);
    assert.match(out, new RegExp(`\\| after ${reward} +\\|`));
    const [metrics] = readMetrics(run);
    assert.equal(metrics!.accuracy === undefined || metrics!.accuracy === null, reward === 'self-certainty');
  });
}
