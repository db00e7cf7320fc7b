// Best-of-N runs over a dataset (resume, settings checks, records) and their evaluation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/load.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { toQaItems } from '../../src/data/qa.ts';
import { readRows } from '../../src/data/read-rows.ts';
import { runBestOfN, type BonRecord, type BonSettings } from '../../src/eval/bon-run.ts';
import { evaluateBestOfN, sizesUpTo } from '../../src/eval/bon-eval.ts';
import { readResults } from '../../src/eval/results-file.ts';

const dir = fileURLToPath(new URL('../fixtures/qwen2-tiny', import.meta.url));
const model = loadModel(dir);
const tokenizer = await Tokenizer.fromDir(dir);
const settings: BonSettings = { n: 3, maxNewTokens: 4, seed: 5, temperature: 1, topP: 1, topK: 0, minP: 0, chat: true, systemPrompt: undefined, instruction: 'Box it.' };
const rule = { method: 'borda' as const };
const quiet = { write: () => true } as never;

async function dataset(folder: string) {
  const path = join(folder, 'data.jsonl');
  writeFileSync(path, ['{"question": "1+1?", "answer": "#### 2"}', '{"question": "2+2?", "answer": "#### 4"}', '{"question": "3+3?", "answer": "#### 6"}'].join('\n'));
  return toQaItems(await readRows(path), {}, path);
}

test('a run resumed after an interruption writes what an uninterrupted run writes', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-bon-'));
  try {
    const items = await dataset(folder);
    const whole = join(folder, 'whole.jsonl');
    const parts = join(folder, 'parts.jsonl');
    await runBestOfN({ model, modelDir: dir, tokenizer, items, settings, rule, resultsPath: whole, progress: quiet });
    await runBestOfN({ model, modelDir: dir, tokenizer, items: items.slice(0, 2), settings, rule, resultsPath: parts, progress: quiet });
    appendFileSync(parts, '{"index": 2, "quest'); // a crash mid-line
    const records = await runBestOfN({ model, modelDir: dir, tokenizer, items, settings, rule, resultsPath: parts, progress: quiet });
    assert.equal(readFileSync(parts, 'utf8'), readFileSync(whole, 'utf8'));
    assert.deepEqual(records.map((r) => r.index), [0, 1, 2]);
    const record = records[1]!;
    assert.equal(record.label, '4');
    assert.equal(record.responses.length, 3);
    assert.ok(record.responses.every((r) => r.tokens === 4 && r.selfCertainty > 0 && r.meanLogprob < 0 && r.meanEntropy > 0));
    assert.equal(record.selected.method, 'borda');
    assert.equal(record.correct, false, 'a random model does not answer 2+2');
    await assert.rejects(
      runBestOfN({ model, modelDir: dir, tokenizer, items, settings: { ...settings, temperature: 0.5 }, rule, resultsPath: parts, progress: quiet }),
      /holds results made with another model or other settings \(item 0\); write to another --output file/,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('items sampled together draw what each item draws alone (its own seed), up to float rounding', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-bon-'));
  try {
    const items = await dataset(folder);
    const alone = await runBestOfN({ model, modelDir: dir, tokenizer, items, settings, rule, resultsPath: join(folder, 'alone.jsonl'), progress: quiet });
    const together = await runBestOfN({ model, modelDir: dir, tokenizer, items, settings, rule, resultsPath: join(folder, 'together.jsonl'), progress: quiet, itemsPerCall: 2 });
    assert.deepEqual(together.map((r) => r.responses.map((x) => x.text)), alone.map((r) => r.responses.map((x) => x.text)));
    assert.deepEqual(together.map((r) => r.selected.index), alone.map((r) => r.selected.index));
    for (const [i, r] of together.entries()) {
      for (const [j, x] of r.responses.entries()) assert.ok(Math.abs(x.selfCertainty - alone[i]!.responses[j]!.selfCertainty) < 1e-4);
    }
    await assert.rejects(runBestOfN({ model, modelDir: dir, tokenizer, items, settings, rule, resultsPath: join(folder, 'x.jsonl'), progress: quiet, itemsPerCall: 0 }), /itemsPerCall must be a positive integer/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

function record(index: number, label: string, responses: [string | undefined, number][]): BonRecord {
  return {
    index,
    question: `q${index}`,
    label,
    responses: responses.map(([answer, selfCertainty]) => ({ text: '', answer, tokens: 1, finishReason: 'stop', selfCertainty, meanLogprob: -selfCertainty, meanEntropy: 1 / selfCertainty })),
    selected: { index: 0, answer: undefined, method: 'borda', p: undefined },
    correct: undefined,
    settings: 'x',
  };
}

test('evaluation: accuracy per rule at N = all, the oracle, and calibration', () => {
  // Item 0: the most certain response is right, the majority wrong. Item 1: the majority is right
  // (1/2 = 0.5 = \frac{1}{2}), the most certain wrong. Item 2: nobody right.
  const records = [
    record(0, '7', [['7', 0.9], ['3', 0.2], ['3', 0.1], ['3', 0.3]]),
    record(1, '1/2', [['0.5', 0.2], ['\\frac{1}{2}', 0.3], ['2', 0.8], ['1/2', 0.1]]),
    record(2, '9', [['1', 0.5], [undefined, 0.9], ['2', 0.4], ['3', 0.6]]),
  ];
  const evaluation = evaluateBestOfN(records, { methods: ['self-certainty', 'majority', 'borda'], subsets: 4 });
  const atN = (rule: string) => {
    const { n, accuracy } = evaluation.curves[rule]!.at(-1)!;
    return { n, accuracy };
  };
  assert.deepEqual(sizesUpTo(4), [1, 2, 4]);
  assert.equal(evaluation.n, 4);
  assert.deepEqual(atN('self-certainty'), { n: 4, accuracy: 1 / 3 });
  assert.deepEqual(atN('majority'), { n: 4, accuracy: 1 / 3 });
  assert.deepEqual(atN('oracle'), { n: 4, accuracy: 2 / 3 });
  // Borda with p = 0.3 at N = 4: item 0: '7' gets 4^0.3 = 1.52 vs '3' 3^.3+2^.3+1 = 3.62 -> wrong; item 1: halves win -> right.
  assert.deepEqual(atN('borda'), { n: 4, accuracy: 1 / 3 });
  // N = 1 draws single responses: accuracy is the share of correct responses, in expectation 4/12.
  assert.ok(evaluation.curves['self-certainty']![0]!.accuracy <= 2 / 3);
  assert.equal(evaluation.calibration.correct, 4);
  assert.equal(evaluation.calibration.incorrect, 8);
  assert.ok(evaluation.calibration.auroc >= 0 && evaluation.calibration.auroc <= 1);
  assert.throws(() => evaluateBestOfN([{ ...records[0]!, label: undefined }]), /no results carry a label/);
});

test('results files: complete records are read, a torn last line is dropped', () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-results-'));
  try {
    const path = join(folder, 'r.jsonl');
    writeFileSync(path, '{"a":1}\n{"a":2}\n{"a":');
    assert.deepEqual(readResults(path), [{ a: 1 }, { a: 2 }]);
    assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"a":2}\n');
    writeFileSync(path, '{"a":1}\nnot json\n');
    assert.throws(() => readResults(path), /r\.jsonl:2: not a results record/);
    assert.deepEqual(readResults(join(folder, 'missing.jsonl')), []);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
