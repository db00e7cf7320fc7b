// `intuitor report` on a run whose answers collapse to round numbers: the diversity charts sit
// beside self-certainty and KL, and the table of common answers shows what they collapsed to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonAnswersTable, resolveReportConfig, runReport, trainingCharts } from '../../src/cli/report.ts';
import type { StepMetrics } from '../../src/rl/trainer.ts';

/** Step n of 20: ever fewer distinct answers, ever more of them "10". */
function step(n: number): StepMetrics {
  const collapsed = n / 20;
  return {
    step: n, lr: 1e-5, loss: 0.1, reward: 10 + collapsed, rewards: { 'self-certainty': { mean: 10 + collapsed, std: 0.1 } },
    selfCertainty: { mean: 10 + collapsed, std: 0.1, min: 9, max: 12 }, accuracy: 0.2 - 0.1 * collapsed, kl: 0.001 * n, clipFraction: 0,
    completionLength: 20, entropy: 1, gradNorm: 0.3, tokensPerSecond: 100, seconds: { generate: 1, score: 0, backward: 1, communicate: 0 }, samples: [],
    answers: {
      distinctShare: 0.9 - 0.7 * collapsed, answeredShare: 1, top: [{ answer: '10', count: Math.round(56 * collapsed) }, { answer: '37', count: 2 }],
      topShare: collapsed, finalZeroShare: 0.1 + 0.85 * collapsed, finalDigitEntropy: n === 3 ? NaN : 3.2 * (1 - collapsed), repeatedNgramShare: 0.2,
    },
  };
}

test('the diversity charts come right after KL and draw each logged number; NaN leaves a gap', () => {
  const metrics = Array.from({ length: 20 }, (_, i) => JSON.parse(JSON.stringify(step(i + 1))) as StepMetrics); // NaN -> null, as read from metrics.jsonl
  const charts = trainingCharts(metrics);
  assert.deepEqual(charts.map((c) => c.name).slice(0, 6), ['rewards', 'self-certainty', 'kl', 'answers', 'digits', 'repetition']);
  const values = (name: string) => (charts.find((c) => c.name === name)!.spec as any).data.values as { series: string; x: number; y: number }[];
  const zero = values('digits').filter((v) => v.series === 'answers ending in 0');
  assert.equal(zero.length, 20);
  assert.ok(Math.abs(zero.at(-1)!.y - 0.95) < 1e-12);
  const entropy = values('digits').filter((v) => v.series === 'final-digit entropy / log2(10)');
  assert.deepEqual(entropy.map((v) => v.x).includes(3), false, 'the step with no final digit has no point');
  assert.ok(Math.abs(entropy[0]!.y - (3.2 * 0.95) / Math.log2(10)) < 1e-12);
  assert.deepEqual([...new Set(values('answers').map((v) => v.series))], ['distinct answers per group', 'most common answer', 'with an answer']);
  assert.deepEqual([...new Set(values('repetition').map((v) => v.series))], ['repeated 4-grams']);
});

test('the common-answers table: evenly spaced steps from the first to the last', () => {
  const metrics = Array.from({ length: 20 }, (_, i) => step(i + 1));
  const table = commonAnswersTable(metrics, 5);
  assert.deepEqual(table.rows.map((r) => r[0]), [1, 6, 11, 15, 20]);
  assert.equal(table.rows.at(-1)![3], '10 (56), 37 (2)');
  assert.equal(commonAnswersTable(metrics.slice(0, 3)).rows.length, 3);
});

test('report writes the diversity charts and the table for a run that logged them, not for one that did not', async () => {
  const run = mkdtempSync(join(tmpdir(), 'intuitor-report-answers-'));
  try {
    writeFileSync(join(run, 'metrics.jsonl'), Array.from({ length: 20 }, (_, i) => `${JSON.stringify(step(i + 1))}\n`).join(''));
    const written = await runReport(resolveReportConfig({ run }), { stderr: { write: () => true } as never });
    for (const name of ['answers', 'digits', 'repetition', 'self-certainty', 'kl', 'accuracy']) assert.ok(written.includes(join(run, `${name}.png`)), name);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.match(html, /<h2>Most common answers<\/h2>/);
    assert.match(html, /<td>10 \(56\), 37 \(2\)<\/td>/);
    assert.match(html, /Final digit of the answers/);
    // An older run: no answers logged, no diversity charts.
    const old = mkdtempSync(join(tmpdir(), 'intuitor-report-old-'));
    const { answers: _answers, ...rest } = step(1);
    writeFileSync(join(old, 'metrics.jsonl'), `${JSON.stringify(rest)}\n`);
    const oldWritten = await runReport(resolveReportConfig({ run: old }), { stderr: { write: () => true } as never });
    assert.ok(!oldWritten.some((f) => /answers|digits|repetition/.test(f)));
    assert.ok(!existsSync(join(old, 'answers.png')));
    assert.doesNotMatch(readFileSync(join(old, 'report.html'), 'utf8'), /Most common answers/);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
