// bon results carry a fingerprint of the dataset row each answers: results of a dataset edited in
// place are refused (saying what changed and what to do), rows appended later are added to them, and
// --overwrite starts over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/load.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { rowFingerprint, runBestOfN, type BonRecord, type BonSettings } from '../../src/eval/bon-run.ts';
import { readResults } from '../../src/eval/results-file.ts';
import { fixtureDir, runCli } from '../helpers/cli.ts';

const dir = fixtureDir('qwen2-tiny');
const model = loadModel(dir);
const tokenizer = await Tokenizer.fromDir(dir);
const settings: BonSettings = { n: 2, maxNewTokens: 3, seed: 1, temperature: 1, topP: 1, topK: 0, minP: 0, chat: false, systemPrompt: undefined, instruction: '' };
const rule = { method: 'self-certainty' as const };
const quiet = { write: () => true } as never;
const items = (questions: string[]) => questions.map((question, index) => ({ index, question, label: String(index) }));

test('an edited row is refused with what changed; appended rows are added; overwrite starts over', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-bon-rows-'));
  try {
    const results = join(folder, 'results.jsonl');
    const run = (questions: string[], overwrite = false) => runBestOfN({ model, modelDir: dir, tokenizer, items: items(questions), settings, rule, resultsPath: results, progress: quiet, overwrite });
    await run(['1+1?', '2+2?']);
    const first = readResults<BonRecord>(results);
    assert.deepEqual(first.map((r) => r.row), [rowFingerprint({ question: '1+1?', label: '0' }), rowFingerprint({ question: '2+2?', label: '1' })]);

    await assert.rejects(
      run(['1+1?', '2+3?']),
      new RegExp(`${results} answers another version of the dataset: row 1 changed since its results were written \\(question "2\\+2\\?", label "1" then; "2\\+3\\?", "1" now\\); write to a new --output file, or pass --overwrite`),
    );
    // A changed label is a changed row too.
    await assert.rejects(runBestOfN({ model, modelDir: dir, tokenizer, items: [{ index: 0, question: '1+1?', label: '7' }], settings, rule, resultsPath: results, progress: quiet }), /row 0 changed/);
    assert.deepEqual(readResults<BonRecord>(results), first, 'a refused run leaves the results as they were');

    const extended = await run(['1+1?', '2+2?', '3+3?']);
    assert.deepEqual(extended.slice(0, 2), first, 'the answered rows are reused');
    assert.equal(readResults<BonRecord>(results).length, 3);

    // Results of an earlier version (no row fingerprint) are checked by their question and label.
    writeFileSync(results, readResults<BonRecord>(results).map(({ row: _row, ...r }) => `${JSON.stringify(r)}\n`).join(''));
    await assert.rejects(run(['1+1?', '2+2?', '3+4?']), /row 2 changed/);

    const redone = await run(['1+1?', '2+3?'], true);
    assert.deepEqual(redone.map((r) => r.question), ['1+1?', '2+3?']);
    assert.deepEqual(readResults<BonRecord>(results).map((r) => r.question), ['1+1?', '2+3?']);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('intuitor bon on a dataset edited in place: an error naming the row, and --overwrite', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-bon-cli-rows-'));
  try {
    const data = join(folder, 'data.jsonl');
    const out = join(folder, 'out.jsonl');
    writeFileSync(data, '{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+2?", "answer": "#### 4"}\n');
    const bon = (...extra: string[]) => runCli('bon', '--model', dir, '--data', data, '--output', out, '--n', '2', '--max-new-tokens', '2', '--instruction', '', ...extra);
    assert.equal((await bon()).code, 0);
    writeFileSync(data, readFileSync(data, 'utf8').replace('#### 4', '#### 5'));
    const refused = await bon();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /answers another version of the dataset: row 1 changed .* label "4" then; "2\+2\?", "5" now\); write to a new --output file, or pass --overwrite to discard those results and start over/);
    const again = await bon('--overwrite');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readResults<BonRecord>(out).map((r) => r.label), ['2', '5']);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
