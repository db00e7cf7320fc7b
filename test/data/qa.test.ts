// Dataset rows (JSONL, Parquet) and question/label items for GSM8K-style and MATH-style data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readRows } from '../../src/data/read-rows.ts';
import { labelFromSolution, toQaItems } from '../../src/data/qa.ts';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'intuitor-data-'));
}

test('GSM8K and MATH styles give the question and the final answer as label', () => {
  const gsm8k = toQaItems([{ question: 'Tom has 3 apples...', answer: 'He has 3 + 4 = <<3+4=7>>7 apples.\n#### 7' }]);
  assert.deepEqual(gsm8k, [{ index: 0, question: 'Tom has 3 apples...', label: '7' }]);
  const math = toQaItems([{ problem: 'Compute $\\frac{1}{2} + \\frac{1}{4}$.', solution: 'We get $\\boxed{\\frac{3}{4}}$.' }]);
  assert.equal(math[0]!.label, '\\frac{3}{4}');
  assert.equal(toQaItems([{ prompt: 'x', target: 12 }])[0]!.label, '12');
  assert.equal(toQaItems([{ question: 'x' }])[0]!.label, undefined);
  const custom = toQaItems([{ q: 'What?', a: '#### 1,000' }], { questionField: 'q', answerField: 'a' });
  assert.equal(custom[0]!.label, '1000', 'GSM8K numbers lose their thousands separators');
  assert.equal(labelFromSolution('  42 '), '42');
});

test('bad rows name the dataset, row and column', () => {
  assert.throws(() => toQaItems([], {}, 'd.jsonl'), /d\.jsonl has no rows/);
  assert.throws(() => toQaItems([{ text: 'x' }], {}, 'd.jsonl'), /d\.jsonl: no question column; looked for question, problem, prompt, input\. Name it with --question-field/);
  assert.throws(() => toQaItems([{ question: 'ok' }, { question: '  ' }], {}, 'd.jsonl'), /^Error: d\.jsonl:row 2: question: expected non-empty text, found only whitespace \("  "\)/);
  assert.throws(() => toQaItems([{ question: 'ok', answer: { a: 1 } }], {}, 'd.jsonl'), /d\.jsonl:row 1: answer: expected text or a number, found an object/);
});

test('JSONL: blank lines skipped, bad lines named by file and line', async () => {
  const folder = scratch();
  try {
    const good = join(folder, 'good.jsonl');
    writeFileSync(good, '{"question": "a"}\n\n{"question": "b"}\n');
    assert.deepEqual(await readRows(good), [{ question: 'a' }, { question: 'b' }]);
    const bad = join(folder, 'bad.jsonl');
    writeFileSync(bad, '{"question": "a"}\n{"question": \n');
    await assert.rejects(readRows(bad), new RegExp(`${bad}:2: not valid JSON`));
    writeFileSync(bad, '[1, 2]\n');
    await assert.rejects(readRows(bad), /bad\.jsonl:1: expected a JSON object per line, found an array/);
    await assert.rejects(readRows(join(folder, 'missing.jsonl')), /missing\.jsonl does not exist/);
    writeFileSync(join(folder, 'data.csv'), 'a,b\n');
    await assert.rejects(readRows(join(folder, 'data.csv')), /unsupported file type "\.csv"; expected \.jsonl or \.parquet/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('Parquet: rows as objects of their columns; a corrupt file is named', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'data.parquet');
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'problem', data: ['What is 2+2?', 'What is 3*3?'], type: 'STRING' },
        { name: 'solution', data: ['$\\boxed{4}$', 'It is \\boxed{9}.'], type: 'STRING' },
      ],
    });
    writeFileSync(path, Buffer.from(buffer));
    const rows = await readRows(path);
    assert.deepEqual(rows, [
      { problem: 'What is 2+2?', solution: '$\\boxed{4}$' },
      { problem: 'What is 3*3?', solution: 'It is \\boxed{9}.' },
    ]);
    assert.deepEqual(toQaItems(rows).map((i) => i.label), ['4', '9']);
    writeFileSync(path, 'not parquet at all');
    await assert.rejects(readRows(path), /data\.parquet: cannot read as Parquet/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
