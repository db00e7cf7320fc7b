// `intuitor bon` then `intuitor eval`, through the command line entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir, runCli as run } from '../helpers/cli.ts';
import { resolveBonConfig } from '../../src/cli/bon.ts';
import { resolveEvalConfig } from '../../src/cli/eval.ts';

const qwen = fixtureDir('qwen2-tiny');


test('bon writes one record per item, eval prints the table and writes JSON', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-cli-bon-'));
  try {
    const data = join(folder, 'gsm.jsonl');
    writeFileSync(data, '{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+3?", "answer": "#### 5"}\n');
    const bon = await run('bon', '--model', qwen, '--data', data, '--n', '2', '--max-new-tokens', '3', '--chat', '--select', 'self-certainty');
    assert.equal(bon.code, 0, bon.stderr);
    const results = join(folder, 'gsm.bon.jsonl');
    const lines = readFileSync(results, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((r) => [r.index, r.label, r.responses.length, r.selected.method]), [[0, '2', 2, 'self-certainty'], [1, '5', 2, 'self-certainty']]);
    assert.match(bon.stderr, /\[2 items; accuracy of --select self-certainty: 0\.0% on 2 labelled items; results in .*gsm\.bon\.jsonl\]/);
    const evaluation = await run('eval', '--results', results, '--rules', 'majority,borda');
    assert.equal(evaluation.code, 0, evaluation.stderr);
    assert.match(evaluation.stdout, /^2 labelled items, 2 responses each/);
    assert.match(evaluation.stdout, /^majority\s+0\.0%\s+0\.0%$/m);
    assert.match(evaluation.stdout, /^2 labelled items, 2 responses each \(qwen2-tiny on gsm\.jsonl\)/, 'model and dataset as the results record them');
    assert.match(evaluation.stdout, /^self-certainty\s+NaN \[NaN, NaN\]\s+NaN \[NaN, NaN\] over 0 problems$/m, 'no correct response: no AUROC');
    const json = JSON.parse(readFileSync(join(folder, 'gsm.bon.eval.json'), 'utf8'));
    assert.deepEqual(Object.keys(json.curves), ['majority', 'borda', 'oracle']);
    assert.ok(!existsSync(join(folder, `gsm.bon.eval.json.tmp-${process.pid}`)));
    assert.deepEqual([...readFileSync(join(folder, 'gsm.bon.eval.png')).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG plot is written');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('flag combinations that make no sense are refused', () => {
  assert.throws(() => resolveBonConfig({ model: 'm', data: 'd.jsonl', select: 'majority', p: 1 }), /--p is the Borda power; it has no meaning with --select majority/);
  assert.throws(() => resolveBonConfig({ model: 'm', data: 'd.jsonl', select: 'best' }), /--select must be one of self-certainty, borda/);
  assert.equal(resolveBonConfig({ model: 'm', data: 'x/d.parquet' }).output, 'x/d.bon.jsonl');
  assert.throws(() => resolveEvalConfig({ results: 'r.jsonl', rules: 'borda,magic' }), /--rules: unknown rule magic/);
  assert.deepEqual(resolveEvalConfig({ results: 'r.jsonl', rules: 'borda' }).methods, ['borda']);
});
