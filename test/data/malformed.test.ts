// The corpus of malformed inputs in test/data/malformed/: each file gives the message its
// cases.json names (file:line: field: what was expected, found ...), or is accepted; a bad dataset
// row is skipped and counted with --skip-bad-rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { BadRows } from '../../src/data/bad-rows.ts';
import { readPromptCompletionTexts, readQaDataset } from '../../src/data/checked-dataset.ts';
import { promptFit } from '../../src/cli/prompt-fit.ts';
import { resolveTrainConfig } from '../../src/cli/train.ts';

const folder = join(import.meta.dirname, 'malformed');
const fixture = join(import.meta.dirname, '..', 'fixtures', 'qwen2-tiny');
const { cases } = JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf8')) as {
  cases: { file: string; kind: 'qa' | 'sft' | 'config'; error: string | null; rows?: number }[];
};

async function read(kind: 'qa' | 'sft', path: string, skipBadRows: boolean): Promise<{ rows: number; skipped: string | undefined }> {
  if (kind === 'sft') {
    const bad = new BadRows(skipBadRows);
    const pairs = await readPromptCompletionTexts(path, {}, bad);
    return { rows: pairs.length, skipped: bad.summary(path) };
  }
  const tokenizer = await Tokenizer.fromDir(fixture);
  const fit = promptFit(tokenizer, { chat: false, system: '', instruction: '' }, fixture, 16, '--max-new-tokens');
  const { items, skipped } = await readQaDataset(path, { skipBadRows }, fit);
  return { rows: items.length, skipped };
}

test('the corpus covers datasets of both commands and config files', () => {
  assert.ok(cases.length >= 20);
  for (const kind of ['qa', 'sft', 'config']) assert.ok(cases.some((c) => c.kind === kind && c.error === null) && cases.some((c) => c.kind === kind && c.error !== null), kind);
});

for (const c of cases) {
  test(`${c.file}: ${c.error === null ? 'accepted' : 'refused with its message'}`, async () => {
    const path = join(folder, c.file);
    if (c.kind === 'config') {
      const resolve = () => resolveTrainConfig({ config: path }, new Set());
      if (c.error === null) assert.equal(resolve().steps, 3);
      else assert.throws(resolve, new RegExp(c.error));
      return;
    }
    if (c.error === null) {
      assert.equal((await read(c.kind, path, false)).rows, c.rows);
      return;
    }
    await assert.rejects(read(c.kind, path, false), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}:`), `the message starts with the path: ${e.message}`);
      assert.match(e.message, new RegExp(c.error!));
      assert.match(e.message, /--skip-bad-rows leaves such rows out/);
      return true;
    });
    if (c.rows === 0) {
      await assert.rejects(read(c.kind, path, true), /has no usable rows \(skipped 1 bad row of .*\)/);
      return;
    }
    const { rows, skipped } = await read(c.kind, path, true);
    assert.equal(rows, c.rows);
    assert.match(skipped ?? '', new RegExp(`^skipped 1 bad row of .*${c.file.replace('.', '\\.')}: .*${c.error}`));
  });
}
