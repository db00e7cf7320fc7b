// bon, train and sft read their data through one input layer: the same bad row gives the same
// `file:line: field: ...` message in every command, before any model work (shown with a model
// folder whose weights are corrupt: the row's error comes first), and --skip-bad-rows runs on the
// rest and says what it skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { fixtureDir, runCli as run } from '../helpers/cli.ts';

const llama = fixtureDir('llama-tiny'); // 512 positions

/** A model folder with the fixture's config and tokenizer beside weights that cannot load. */
function modelWithBrokenWeights(folder: string): string {
  const dir = join(folder, 'broken-model');
  mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(llama, f), join(dir, f));
  writeFileSync(join(dir, 'model.safetensors'), 'not a safetensors file');
  return dir;
}

test('a question too long for the model: the same message in bon and train, before the weights load', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-input-commands-'));
  try {
    const broken = modelWithBrokenWeights(folder);
    const data = join(folder, 'data.jsonl');
    const long = 'How many apples are there when we count again and again? '.repeat(60);
    writeFileSync(data, [{ question: 'What is 1 + 1?', answer: '#### 2' }, { question: long, answer: '#### 3' }, { question: 'What is 2 + 2?', answer: '#### 4' }].map((r) => JSON.stringify(r)).join('\n'));
    const expected = (flag: string) => new RegExp(`${data}:2: question: expected at most \\d+ tokens \\(.*broken-model has 512 positions, max_position_embeddings less ${flag} 8\\), found \\d+ with the prompt format applied \\(--skip-bad-rows leaves such rows out\\)`);

    const out = join(folder, 'results.jsonl');
    const bon = await run('bon', '--model', broken, '--data', data, '--output', out, '--n', '2', '--max-new-tokens', '8');
    assert.equal(bon.code, 1);
    assert.match(bon.stderr, expected('--max-new-tokens'));
    assert.ok(!existsSync(out));
    const runDir = join(folder, 'run');
    const train = await run('train', '--model', broken, '--data', data, '--output', runDir, '--steps', '1', '--max-completion-length', '8');
    assert.equal(train.code, 1);
    assert.match(train.stderr, expected('--max-completion-length'));
    assert.ok(!existsSync(runDir), 'no run folder: nothing started');

    // Skipping: the rest is used, and the skip is reported with its reason.
    const skipped = await run('bon', '--model', llama, '--data', data, '--output', out, '--n', '2', '--max-new-tokens', '4', '--skip-bad-rows');
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stderr, new RegExp(`\\[skipped 1 bad row of ${data}: ${data}:2: question: expected at most`));
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).index), [0, 2]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a whitespace-only prompt is refused the same way by bon, train and sft; sft reads Parquet', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-input-commands-'));
  try {
    const qa = join(folder, 'qa.jsonl');
    writeFileSync(qa, '{"question": "What is 1 + 1?", "answer": "#### 2"}\r\n{"question": "  \\n ", "answer": "#### 3"}\r\n');
    const pairs = join(folder, 'pairs.jsonl');
    writeFileSync(pairs, '\ufeff{"prompt": "What is 1 + 1?", "completion": "2"}\r\n{"prompt": "  \\n ", "completion": "3"}\r\n');
    const blank = (path: string, field: string) => new RegExp(`${path}:2: ${field}: expected non-empty text, found only whitespace \\("  \\\\n "\\)`);
    const bon = await run('bon', '--model', llama, '--data', qa, '--output', join(folder, 'r.jsonl'), '--n', '2', '--max-new-tokens', '2');
    assert.match(bon.stderr, blank(qa, 'question'));
    const train = await run('train', '--model', llama, '--data', qa, '--output', join(folder, 'run'), '--steps', '1');
    assert.match(train.stderr, blank(qa, 'question'));
    const sft = await run('sft', '--model', llama, '--data', pairs, '--output', join(folder, 'sft'), '--steps', '1', '--batch-size', '1');
    assert.equal(sft.code, 1);
    assert.match(sft.stderr, blank(pairs, 'prompt'));
    assert.ok(!existsSync(join(folder, 'sft')));

    const parquet = join(folder, 'pairs.parquet');
    writeFileSync(parquet, Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'prompt', data: ['What is 1 + 1?', ' '], type: 'STRING' }, { name: 'completion', data: ['2', '3'], type: 'STRING' }] })));
    const fromParquet = await run('sft', '--model', llama, '--data', parquet, '--output', join(folder, 'sft'), '--steps', '1', '--batch-size', '1', '--skip-bad-rows');
    assert.equal(fromParquet.code, 0, fromParquet.stderr);
    assert.match(fromParquet.stderr, new RegExp(`\\[skipped 1 bad row of ${parquet}: ${parquet}:row 2: prompt: expected non-empty text, found only whitespace`));
    assert.match(fromParquet.stderr, /\(1 examples\)/);
    assert.ok(existsSync(join(folder, 'sft', 'config.json')));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
