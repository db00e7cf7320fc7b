// The dataset input layer under bon, train and sft: bounded lines, strict UTF-8 in JSONL and
// Parquet, skipped rows counted, and token lengths checked with the prompt format applied, cheaply
// for overlong texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { BadRows } from '../../src/data/bad-rows.ts';
import { readDatasetRows } from '../../src/data/read-rows.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../../src/data/jsonl-lines.ts';
import { fitPromptCompletions, readPromptCompletionTexts, readQaDataset, type TokenFit } from '../../src/data/checked-dataset.ts';
import { fitTokens, tokenRoom } from '../../src/data/token-budget.ts';
import { promptFit } from '../../src/cli/prompt-fit.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'qwen2-tiny'); // 512 positions, a chat template
const tokenizer = await Tokenizer.fromDir(fixture);
const plain = { chat: false, system: '', instruction: '' };

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'intuitor-input-'));
}

/** A fit that records the longest text it was asked to tokenize. */
function spiedFit(fit: TokenFit): TokenFit & { longest: () => number } {
  let longest = 0;
  const note = (text: string) => {
    longest = Math.max(longest, text.length);
  };
  return {
    ...fit,
    promptIds: (q) => (note(q), fit.promptIds(q)),
    encode: (t) => (note(t), fit.encode(t)),
    longest: () => longest,
  };
}

test('a 50 MB line is refused from its length, without parsing or tokenizing it', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'huge.jsonl');
    const out = createWriteStream(path);
    out.write('{"question": "What is 1 + 1?", "answer": "#### 2"}\n{"question": "');
    const block = 'many words '.repeat(100_000); // 1.1 MB
    for (let i = 0; i < 46; i++) out.write(block);
    out.write('", "answer": "#### 3"}\n{"question": "What is 2 + 2?", "answer": "#### 4"}\n');
    out.end();
    await once(out, 'finish');
    const fit = spiedFit(promptFit(tokenizer, plain, fixture, 16, '--max-new-tokens'));
    await assert.rejects(readQaDataset(path, {}, fit), new RegExp(`^Error: ${path}:2: the line is longer than ${DEFAULT_MAX_LINE_BYTES} bytes`));
    const { items, skipped } = await readQaDataset(path, { skipBadRows: true }, fit);
    assert.deepEqual(items.map((i) => [i.index, i.label]), [[0, '2'], [2, '4']], 'the rows around it read, with their own indices');
    assert.match(skipped!, /^skipped 1 bad row of .*huge\.jsonl: .*huge\.jsonl:2: the line is longer than/);
    assert.ok(fit.longest() < 100, `nothing long was tokenized (longest: ${fit.longest()} characters)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('prompt length: prompt tokens with the format applied + the new tokens must fit max_position_embeddings', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'long.jsonl');
    const fits = 'one two three '.repeat(40).trim(); // 120 words: fits 512 positions less 256 as raw text
    const tooLong = 'one two three '.repeat(200).trim();
    writeFileSync(path, [{ question: 'What is 1 + 1?' }, { question: tooLong }, { question: fits }].map((r) => JSON.stringify(r)).join('\n'));
    const fit = promptFit(tokenizer, plain, fixture, 256, '--max-new-tokens');
    const raw = tokenizer.encode(tooLong).length;
    await assert.rejects(
      readQaDataset(path, {}, fit),
      new RegExp(`^Error: ${path}:2: question: expected at most 256 tokens \\(${fixture} has 512 positions, max_position_embeddings less --max-new-tokens 256\\), found ${raw} with the prompt format applied`),
    );
    assert.equal((await readQaDataset(path, { skipBadRows: true }, fit)).items.length, 2);
    // The same question fits as raw text but not with a long system prompt in the chat template.
    const fitsRaw = fitTokens([{ field: 'question', text: fits, ids: () => tokenizer.encode(fits) }], fit.budget, fit.encode);
    assert.ok('ids' in fitsRaw);
    const chat = promptFit(tokenizer, { chat: true, system: 'Be brief. '.repeat(60), instruction: '' }, fixture, 400, '--max-new-tokens');
    assert.ok(tokenizer.encode('What is 1 + 1?').length < 112);
    await assert.rejects(readQaDataset(path, { limit: 1 }, chat), /long\.jsonl:1: question: expected at most 112 tokens .*less --max-new-tokens 400\), found \d+ with the prompt format applied/);
    assert.throws(() => tokenRoom({ ...fit.budget, reserved: 512 }), /--max-new-tokens 256 leave no room for a prompt in .*'s 512 positions \(max_position_embeddings\); lower it/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('an overlong Parquet cell is refused from the tokens of a prefix', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'cells.parquet');
    const huge = 'words and more words '.repeat(200_000); // 4.2 MB, under the row bound
    writeFileSync(path, Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'problem', data: ['What is 2 + 2?', huge], type: 'STRING' }] })));
    const fit = spiedFit(promptFit(tokenizer, plain, fixture, 16, '--max-new-tokens'));
    await assert.rejects(readQaDataset(path, {}, fit), new RegExp(`^Error: ${path}:row 2: problem: expected at most 496 tokens .*, found at least \\d+ \\(\\d+ in the first \\d+ of the ${huge.length} characters of problem\\)`));
    assert.ok(fit.longest() <= 32 * 497, `only a prefix was tokenized (longest: ${fit.longest()} characters)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('Parquet text that is not UTF-8 is refused where it is used, with the byte', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'bytes.parquet');
    const cells = [new TextEncoder().encode('What is 2 + 2?'), new Uint8Array([0x57, 0x68, 0x61, 0xff, 0x3f])];
    writeFileSync(path, Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'question', data: cells, type: 'STRING' }, { name: 'answer', data: ['#### 4', '#### 5'], type: 'STRING' }] })));
    const fit = promptFit(tokenizer, plain, fixture, 16);
    await assert.rejects(readQaDataset(path, {}, fit), new RegExp(`^Error: ${path}:row 2: question: expected UTF-8 text, found invalid UTF-8 at byte 4 of the value`));
    assert.deepEqual((await readQaDataset(path, { skipBadRows: true }, fit)).items, [{ index: 0, question: 'What is 2 + 2?', label: '4' }]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('sft data reads from Parquet too, and completions count against the context', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'pairs.parquet');
    const long = 'and so on '.repeat(300);
    writeFileSync(path, Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'prompt', data: ['What is 1 + 1?', 'Tell a story'], type: 'STRING' }, { name: 'completion', data: ['2', long], type: 'STRING' }] })));
    const bad = new BadRows(true);
    const texts = await readPromptCompletionTexts(path, {}, bad);
    assert.deepEqual(texts.map((t) => t.where), [`${path}:row 1`, `${path}:row 2`]);
    const fit = { ...promptFit(tokenizer, plain, fixture, 0), completionIds: (c: string) => tokenizer.encode(c, { addSpecialTokens: false }) };
    const pairs = fitPromptCompletions(texts, fit, path, bad);
    assert.deepEqual(pairs, [{ prompt: tokenizer.encode('What is 1 + 1?'), completion: tokenizer.encode('2', { addSpecialTokens: false }) }]);
    assert.match(bad.summary(path)!, /row 2: prompt \+ completion: expected at most 512 tokens \(.* has 512 positions, max_position_embeddings\), found \d+ \(prompt \d+, completion \d+\)/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('skipped rows: counted, the first three reasons quoted; --limit reads only the first rows', async () => {
  const folder = scratch();
  try {
    const path = join(folder, 'mixed.jsonl');
    const lines = ['{"question": "a"}', '{"question": ""}', 'nope', '{"question": null}', '{"question": "b"}', '[]', '{"question": "c"}'];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const bad = new BadRows(true);
    const rows = await readDatasetRows(path, { bad });
    assert.deepEqual(rows.map((r) => r.index), [0, 1, 3, 4, 6]);
    const { items, skipped } = await readQaDataset(path, { skipBadRows: true }, promptFit(tokenizer, plain, fixture, 16));
    assert.deepEqual(items.map((i) => i.question), ['a', 'b', 'c']);
    assert.equal(skipped, `skipped 4 bad rows of ${path}: ${path}:3: not valid JSON: Unexpected token 'o', "nope" is not valid JSON; ${path}:6: expected a JSON object per line, found an array; ${path}:2: question: expected non-empty text, found an empty string; and 1 more`);
    const limited = await readQaDataset(path, { limit: 1 }, promptFit(tokenizer, plain, fixture, 16));
    assert.deepEqual(limited.items.map((i) => i.question), ['a'], 'the bad rows after the limit are never read');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a part that already overflows leaves the next one untokenized', () => {
  const budget = { contextLength: 8, reserved: 0, model: 'm' };
  let completionCalls = 0;
  const fit = fitTokens(
    [
      { field: 'prompt', text: 'a b c d e f g h i j', ids: () => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
      { field: 'completion', text: 'x', ids: () => (completionCalls++, [11]) },
    ],
    budget,
    (t) => t.split(' ').map(() => 0),
  );
  assert.deepEqual(fit, { problem: 'prompt + completion: expected at most 8 tokens (m has 8 positions, max_position_embeddings), found at least 10 (prompt 10 alone)' });
  assert.equal(completionCalls, 0);
  const both = fitTokens([{ field: 'prompt', text: 'a', ids: () => [1, 2, 3] }, { field: 'completion', text: 'b', ids: () => [4, 5, 6, 7, 8, 9] }], budget, () => []);
  assert.deepEqual(both, { problem: 'prompt + completion: expected at most 8 tokens (m has 8 positions, max_position_embeddings), found 9 (prompt 3, completion 6)' });
});
