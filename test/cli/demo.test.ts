// `intuitor demo` end to end on a fresh tiny model with a tiny budget: it prints the best-of-N
// evaluation, the greedy before/after table with paired intervals and the AUROC before and after;
// with the self-certainty reward no label reaches the trainer (no accuracy is logged), while the
// correctness baseline trains on labels; unknown runs are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { resolveDemoConfig } from '../../src/cli/demo.ts';
import { readMetrics } from '../../src/rl/trainer.ts';

const root = mkdtempSync(join(tmpdir(), 'intuitor-demo-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
await main(['init', '--output', join(root, 'model')], quiet);

test('demo: best-of-N, Intuitor beside GRPO with correctness, AUROC before and after', async () => {
  let out = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: () => true } } as never;
  const output = join(root, 'demo');
  const code = await main(['demo', '--model', join(root, 'model'), '--output', output, '--runs', 'intuitor,correctness', '--steps', '1', '--prompts-per-step', '2',
    '--num-generations', '2', '--max-completion-length', '6', '--eval-problems', '3', '--samples', '2', '--samples-after', '2'], io);
  assert.equal(code, 0);
  assert.match(out, /AUROC, correct vs incorrect/);
  assert.match(out, /^self-certainty - random /m);
  assert.match(out, /^\| before +\| +\d+\.\d% \[/m);
  assert.match(out, /^\| Intuitor, lr 0\.0001 +\| +\d+\.\d% \[[^|]+\| [-+]\d+\.\d \[/m);
  assert.match(out, /^\| GRPO correctness, lr 0\.0001 +\|/m);
  assert.match(out, /^\| after Intuitor +\| (\d\.\d{3}|NaN) \[/m); // a random model has no correct sample: NaN
  const [intuitor] = readMetrics(join(output, 'intuitor'));
  const [correctness] = readMetrics(join(output, 'correctness'));
  assert.ok(intuitor!.accuracy === undefined || intuitor!.accuracy === null, 'no label reached the Intuitor run');
  assert.equal(typeof correctness!.accuracy, 'number');
  for (const name of ['before', 'intuitor', 'correctness']) {
    const lines = readFileSync(join(output, `greedy-${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(typeof lines[0].response, 'string');
  }
  assert.ok(existsSync(join(output, 'before.bon.jsonl')) && existsSync(join(output, 'after-intuitor.bon.jsonl')));
});

test('demo refuses an unknown run and names the choices', () => {
  assert.throws(() => resolveDemoConfig({ runs: 'intuitor,ofline' }), /--runs: unknown run ofline; choose from intuitor, correctness, offline, high-lr/);
});
