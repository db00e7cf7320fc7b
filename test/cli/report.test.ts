// `intuitor report`: PNG curves and an HTML page from a run folder's metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';

function step(n: number) {
  return {
    step: n, lr: 1e-5, loss: 0.1 / n, reward: 0.5 + n / 10, rewards: { 'self-certainty': { mean: 0.5 + n / 10, std: 0.1 } },
    selfCertainty: { mean: 0.5 + n / 10, std: 0.1, min: 0.4, max: 0.9 }, accuracy: undefined, kl: 0.01 * n, clipFraction: 0,
    completionLength: 20, entropy: 1, gradNorm: 0.3, tokensPerSecond: 100, seconds: { generate: 1, score: 0, backward: 1 }, samples: [],
  };
}

test('report writes one PNG per logged quantity and a self-contained HTML page', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-report-'));
  try {
    writeFileSync(join(run, 'metrics.jsonl'), [1, 2, 3].map((n) => JSON.stringify(step(n))).join('\n') + '\n');
    const out = await runCli('report', '--run', run);
    assert.equal(out.code, 0, out.stderr);
    for (const name of ['rewards', 'self-certainty', 'kl', 'loss', 'length']) {
      assert.deepEqual([...readFileSync(join(run, `${name}.png`)).subarray(1, 4)], [0x50, 0x4e, 0x47], `${name}.png`);
    }
    assert.match(out.stderr, /\[6 files in .*: rewards\.png, self-certainty\.png, kl\.png, loss\.png, length\.png, report\.html\]/, 'no accuracy chart without labels');
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /Self-certainty of the responses/);
    assert.doesNotMatch(html, /<script src=|https?:\/\//);
    const empty = mkdtempSync(join(tmpdir(), 'intuitor-report-empty-'));
    const missing = await runCli('report', '--run', empty);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no metrics\.jsonl entries: is it a run folder of intuitor train\?/);
    rmSync(empty, { recursive: true, force: true });
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
