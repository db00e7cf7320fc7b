// The arith word tokenizer: both @huggingface/tokenizers (ours) and the Rust `tokenizers` binding
// (oracle) load it, give the same ids, and decode every arith question and solution back to the
// same text; digits are single tokens; unknown words become <unk>; the chat template is ChatML.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import rust from 'tokenizers';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { arithTokenizerWords, buildWordTokenizer, writeWordTokenizer } from '../../src/tokenizer/build-word-tokenizer.ts';
import { arithProblems } from '../../src/data/arith.ts';
import { BOXED_INSTRUCTION } from '../../src/rl/prompt.ts';

const dir = mkdtempSync(join(tmpdir(), 'intuitor-word-tok-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeWordTokenizer(dir, buildWordTokenizer(arithTokenizerWords()));
const ours = await Tokenizer.fromDir(dir);
const oracle = rust.Tokenizer.fromFile(join(dir, 'tokenizer.json'));

const texts = [
  ...arithProblems({ split: 'test', count: 150, seed: 3 }).flatMap((p) => [p.question, p.solution]),
  BOXED_INSTRUCTION,
  '  Tom  has, a bag\tand\nnew cards\n\n',
  '(3 + 4) * 5 = 35',
];

test('every arith text round-trips, and ids equal the Rust tokenizer', async () => {
  for (const text of texts) {
    const ids = ours.encode(text, { addSpecialTokens: false });
    const want = (await oracle.encode(text, null, { addSpecialTokens: false })).getIds();
    assert.deepEqual(ids, want, text);
    assert.equal(ours.decode(ids), text);
    assert.equal(await oracle.decode(ids, false), text);
    assert.ok(!ids.includes(ours.unkTokenId!), `no unknown token in ${JSON.stringify(text)}`);
  }
});

test('digits are single tokens; unknown words are <unk>; specials are named', () => {
  const ids = ours.encode('Tom has 150 apples', { addSpecialTokens: false });
  assert.deepEqual(ids.map((id) => ours.decode([id])), ['Tom', ' ', 'has', ' ', '1', '5', '0', ' ', 'apples']);
  assert.equal(ours.decode(ours.encode('Tom zebra', { addSpecialTokens: false })), 'Tom <unk>');
  assert.equal(ours.eosToken, '<|im_end|>');
  assert.equal(ours.padTokenId, 0);
  assert.deepEqual(ours.specialTokenIds, [0, 1, 2, 3]);
});

test('the chat template is ChatML with a generation prompt', async () => {
  const ids = ours.applyChatTemplate([{ role: 'user', content: 'How many apples?' }], { addGenerationPrompt: true }) as number[];
  const text = '<|im_start|>user\nHow many apples?<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(ours.decode(ids), text);
  assert.deepEqual(ids, (await oracle.encode(text, null, { addSpecialTokens: false })).getIds());
  assert.equal(ours.decode(ids, { skipSpecialTokens: true }), 'user\nHow many apples?\nassistant\n');
});

test('words must be letters only', () => {
  assert.throws(() => buildWordTokenizer(['ok', 'not ok']), /letters only/);
});
