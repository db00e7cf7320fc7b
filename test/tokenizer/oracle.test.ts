// encode/decode of both fixture tokenizers against the official Rust `tokenizers` binding (npm
// `tokenizers`, a devDependency used only here as the oracle), on a hand-written corpus and on seeded
// random strings and id sequences; plus facts read by hand from the fixtures' JSON files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import rust from 'tokenizers';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const NAMES = ['qwen2-tiny', 'llama-tiny'] as const;
type Name = (typeof NAMES)[number];

const ours = {} as Record<Name, Tokenizer>;
const oracle = {} as Record<Name, InstanceType<typeof rust.Tokenizer>>;
for (const name of NAMES) {
  const dir = new URL(`${name}/`, FIXTURES);
  ours[name] = await Tokenizer.fromDir(dir);
  oracle[name] = rust.Tokenizer.fromFile(fileURLToPath(new URL('tokenizer.json', dir)));
}

const CORPUS: string[] = [
  '',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure you've seen it; they're here, we'll go, she'd know, it's HIS and I DON'T.",
  '   leading spaces',
  'trailing spaces   ',
  'a  b   c    d     e',
  ' ',
  '      ',
  'line one\nline two\n\nline four\r\nwindows line\rold mac line',
  '\ttab\tseparated\t\tvalues\t',
  '\n\n\n',
  ' \n \t \n \r\n\t ',
  '中文测试：你好，世界！我们今天学习分词。',
  '日本語のテキストとカタカナ、ひらがな。',
  '한국어 문장입니다.',
  '😀 👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ 🤖🤖🤖',
  'e\u0301 versus \u00e9, a\u0308, n\u0303, Z\u0351\u0315a\u0367l\u0352g\u0337o, \u0345\u0345',
  'مرحبا بالعالم',
  'שלום עולם',
  'mixed: hello مرحبا world שלום 123',
  '\u202Eright-to-left override\u202C and \u200Fmarks\u200E',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'function f() {\n\tconst x = [1, 2, 3];\n\treturn x.map((v) => v * 2);\n}\n',
  '#include <stdio.h>\nint main(void) {\n  printf("%d\\n", 42);\n  return 0;\n}',
  '\\frac{1}{2} + \\frac{3}{4} = \\frac{5}{4}',
  'The answer is \\boxed{42}.',
  '$$\\int_0^1 x^2\\,dx = \\tfrac{1}{3}$$ and $\\sqrt{2} \\approx 1.414$',
  '\\begin{align} a &= b \\\\ c &= d \\end{align}',
  '0 1 12 123 1234 12345 1234567890',
  '3.14159 -2.5e-10 1,000,000 0x1F 1_000 +7 100%',
  '2024-01-15T10:30:00Z',
  '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n',
  '<|endoftext|>',
  'before<|endoftext|>after',
  '<|im_start|><|im_end|><|endoftext|><|im_start|>',
  '<think>\nLet me think.\n</think>\n\nThe answer is 4.',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<|end_of_text|>',
  ' <|eot_id|> spaced <|eot_id|>',
  '<|im_start',
  '<|reserved_special_token_5|>',
  '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>',
  'ﬁ ﬀ ① ² Å Ω ㎏ ＡＢＣ',
  'ß straße İstanbul ǅ',
  '\u00a0nbsp\u2009thin\u3000ideographic',
  '\uFEFFbom and zero\u200Bwidth',
  'control\u0000\u0001\u007f chars',
  'https://example.com/path?q=1&r=2#frag and a.b@c.de',
  '"double" \'single\' `back` «guillemets» „low“',
  '!!!???...,,,;;; --- === *** ### @@@',
  'a'.repeat(1000),
  'Tokenizers split text into pieces. '.repeat(40),
];

/** A deterministic generator so that any failure is reproducible (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'a', 'Z', 'the', ' ', '  ', '\n', '\t', '\r\n', 'é', 'e\u0301', '中', '文', '😀', '🏽', '\u200d', 'ا', '1', '23', '456',
  "'s", "'LL", '<|im_end|>', '<|eot_id|>', '<|endoftext|>', '<think>', '{', '}', '\\', '.', ',', '!', '\u00a0', '\u3000', 'ß',
  'İ', '\uFEFF', '$', '^', '_',
];

function randomStrings(seed: number, count: number): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    let s = '';
    const n = Math.floor(r() * 14);
    for (let k = 0; k < n; k++) s += PIECES[Math.floor(r() * PIECES.length)];
    return s;
  });
}

for (const name of NAMES) {
  test(`${name}: encode equals the Rust binding on the corpus, with and without special tokens`, async () => {
    const mismatches: string[] = [];
    let nonEmpty = 0;
    for (const text of CORPUS) {
      for (const addSpecialTokens of [true, false]) {
        const want = (await oracle[name].encode(text, null, { addSpecialTokens })).getIds();
        const got = ours[name].encode(text, { addSpecialTokens });
        if (want.length > 0) nonEmpty++;
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          mismatches.push(`${JSON.stringify(text)} add=${addSpecialTokens}: ${JSON.stringify(got)} vs Rust ${JSON.stringify(want)}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
    assert.equal(nonEmpty, 2 * (CORPUS.length - 1), 'the oracle encodes every non-empty text to some ids');
  });

  test(`${name}: decode equals the Rust binding, with and without skipSpecialTokens`, async () => {
    const mismatches: string[] = [];
    for (const text of CORPUS) {
      const ids = (await oracle[name].encode(text, null, { addSpecialTokens: true })).getIds();
      for (const skipSpecialTokens of [false, true]) {
        const want = await oracle[name].decode(ids, skipSpecialTokens);
        const got = ours[name].decode(ids, { skipSpecialTokens });
        if (got !== want) mismatches.push(`${JSON.stringify(text)} skip=${skipSpecialTokens}: ${JSON.stringify(got)} vs Rust ${JSON.stringify(want)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test(`${name}: encodeBatch and decodeBatch equal the Rust binding`, async () => {
    const texts = CORPUS.slice(0, 20);
    const want = (await oracle[name].encodeBatch(texts, { addSpecialTokens: true })).map((e) => e.getIds());
    assert.deepEqual(ours[name].encodeBatch(texts), want);
    assert.deepEqual(ours[name].decodeBatch(want, { skipSpecialTokens: true }), await oracle[name].decodeBatch(want, true));
  });

  test(`${name}: seeded random strings encode and decode as in the Rust binding`, async () => {
    const mismatches: string[] = [];
    for (const text of randomStrings(name === 'qwen2-tiny' ? 1 : 2, 400)) {
      const ids = (await oracle[name].encode(text, null, { addSpecialTokens: true })).getIds();
      const got = ours[name].encode(text);
      if (JSON.stringify(got) !== JSON.stringify(ids)) mismatches.push(`encode ${JSON.stringify(text)}: ${JSON.stringify(got)} vs ${JSON.stringify(ids)}`);
      const dec = ours[name].decode(ids, { skipSpecialTokens: true });
      const want = await oracle[name].decode(ids, true);
      if (dec !== want) mismatches.push(`decode ${JSON.stringify(ids)}: ${JSON.stringify(dec)} vs ${JSON.stringify(want)}`);
    }
    assert.deepEqual(mismatches, []);
  });

  test(`${name}: seeded random id sequences (split UTF-8, special ids) decode as in the Rust binding`, async () => {
    const r = rng(name === 'qwen2-tiny' ? 3 : 4);
    const V = ours[name].vocabSize;
    const special = ours[name].specialTokenIds;
    const mismatches: string[] = [];
    for (let i = 0; i < 400; i++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 6) }, () =>
        r() < 0.15 ? special[Math.floor(r() * special.length)]! : Math.floor(r() * V));
      for (const skip of [false, true]) {
        const got = ours[name].decode(ids, { skipSpecialTokens: skip });
        const want = await oracle[name].decode(ids, skip);
        if (got !== want) mismatches.push(`${JSON.stringify(ids)} skip=${skip}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test(`${name}: vocabSize, tokenToId and idToToken agree with the Rust binding`, () => {
    const t = ours[name];
    assert.equal(t.vocabSize, oracle[name].getVocabSize(true));
    const r = rng(5);
    const ids = [0, 1, 100, t.vocabSize - 1, ...t.addedTokens.map((a) => a.id), ...Array.from({ length: 300 }, () => Math.floor(r() * t.vocabSize))];
    for (const id of ids) {
      const token = oracle[name].idToToken(id);
      assert.equal(t.idToToken(id), token ?? undefined, `idToToken(${id})`);
      assert.equal(t.tokenToId(token!), oracle[name].tokenToId(token!), `tokenToId(${token})`);
    }
    assert.equal(t.idToToken(t.vocabSize), undefined);
    assert.equal(oracle[name].idToToken(t.vocabSize), null);
    assert.equal(t.tokenToId('definitely not a token'), undefined);
  });

  test(`${name}: specialTokenIds are exactly the added tokens that the Rust binding skips`, async () => {
    const t = ours[name];
    const skippedByRust: number[] = [];
    for (const a of t.addedTokens) if ((await oracle[name].decode([a.id], true)) === '') skippedByRust.push(a.id);
    assert.deepEqual([...t.specialTokenIds], skippedByRust);
    for (const id of skippedByRust) assert.equal(t.isSpecialId(id), true);
  });

  test(`${name}: decode(encode(text)) gives the text back (NFC-normalized for Qwen)`, () => {
    for (const text of CORPUS) {
      const want = name === 'qwen2-tiny' ? text.normalize('NFC') : text;
      assert.equal(ours[name].decode(ours[name].encode(text)), want, JSON.stringify(text));
    }
  });
}

test('literal ids (read back from the Rust binding once) and special tokens written as text', () => {
  const q = ours['qwen2-tiny'];
  const l = ours['llama-tiny'];
  assert.deepEqual(q.encode('Hello, world!'), [9707, 11, 1879, 0]);
  assert.deepEqual(l.encode('Hello, world!'), [9906, 11, 1917, 0]);
  // Special tokens written in the text become their single ids, in either tokenizer.
  assert.deepEqual(q.encode('<|im_start|>user<|im_end|><|endoftext|>'), [151644, 872, 151645, 151643]);
  assert.deepEqual(l.encode('<|begin_of_text|><|eot_id|>'), [128000, 128009]);
  // Qwen does not know Llama's specials and the reverse: they are ordinary text there.
  assert.ok(q.encode('<|eot_id|>').length > 1);
  assert.ok(l.encode('<|im_start|>').length > 1);
  // Neither tokenizer.json's post-processor adds anything (llama-tiny's is ByteLevel only: no BOS).
  assert.deepEqual(l.encode('Hi', { addSpecialTokens: true }), l.encode('Hi', { addSpecialTokens: false }));
  assert.deepEqual(q.encode(''), []);
});

test('decode: empty input, bigints, ids without a token, skipSpecialTokens, clean-up', async () => {
  const q = ours['qwen2-tiny'];
  assert.equal(q.decode([]), '');
  assert.equal(q.decode(new BigInt64Array([9707n, 11n, 1879n, 0n])), 'Hello, world!');
  assert.equal(q.decode(Int32Array.from([151644, 872, 151645])), '<|im_start|>user<|im_end|>');
  assert.equal(q.decode([151644, 872, 151645], { skipSpecialTokens: true }), 'user');
  // <think> is an added token but not special: skipSpecialTokens keeps it.
  assert.equal(q.decode([151667, 9707, 151668], { skipSpecialTokens: true }), '<think>Hello</think>');
  // Qwen's embedding has rows 151669..151935 without a token: dropped, as in the Rust binding.
  const withHoles = [9707, 151669, 151935, 0];
  assert.equal(q.decode(withHoles), 'Hello!');
  assert.equal(q.decode(withHoles), await oracle['qwen2-tiny'].decode(withHoles, false));
  const spaced = q.encode("Hello , world ! I do n't know .");
  assert.equal(q.decode(spaced), "Hello , world ! I do n't know .");
  assert.equal(q.decode(spaced, { cleanUpTokenizationSpaces: true }), "Hello, world! I don't know.");
});

test('named special tokens and eosTokenIds come from tokenizer_config.json', () => {
  const q = ours['qwen2-tiny'];
  assert.equal(q.bosToken, undefined);
  assert.equal(q.bosTokenId, undefined);
  assert.equal(q.eosToken, '<|im_end|>');
  assert.equal(q.eosTokenId, 151645);
  assert.deepEqual(q.eosTokenIds, [151645]);
  assert.equal(q.padToken, '<|endoftext|>');
  assert.equal(q.padTokenId, 151643);
  assert.equal(q.unkToken, undefined);
  assert.equal(q.addedTokens.length, 26);
  assert.equal(q.specialTokenIds.length, 14);
  assert.deepEqual(q.addedTokens.at(-1), { id: 151668, content: '</think>', special: false });

  const l = ours['llama-tiny'];
  assert.equal(l.bosToken, '<|begin_of_text|>');
  assert.equal(l.bosTokenId, 128000);
  assert.equal(l.eosToken, '<|end_of_text|>');
  assert.deepEqual(l.eosTokenIds, [128001]);
  assert.equal(l.padToken, undefined);
  assert.equal(l.padTokenId, undefined);
  assert.equal(l.addedTokens.length, 256);
  assert.equal(l.specialTokenIds.length, 256);
  assert.equal(l.source, fileURLToPath(new URL('llama-tiny', FIXTURES)));
});

test("Meta's Llama-3 post-processor (BOS added by TemplateProcessing): addSpecialTokens as in the Rust binding", async () => {
  // llama-tiny's tokenizer.json adds nothing; Meta's own adds <|begin_of_text|> through this post-processor.
  const dir = await mkdtemp(join(tmpdir(), 'intuitor-bos-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const json = JSON.parse(await readFile(fileURLToPath(new URL('llama-tiny/tokenizer.json', FIXTURES)), 'utf8'));
  json.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
      },
    ],
  };
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
  await writeFile(join(dir, 'tokenizer_config.json'), await readFile(fileURLToPath(new URL('llama-tiny/tokenizer_config.json', FIXTURES))));
  const tok = await Tokenizer.fromDir(dir);
  const ref = rust.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
  const mismatches: string[] = [];
  for (const text of CORPUS) {
    for (const addSpecialTokens of [true, false]) {
      const want = (await ref.encode(text, null, { addSpecialTokens })).getIds();
      const got = tok.encode(text, { addSpecialTokens });
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${JSON.stringify(text)} add=${addSpecialTokens}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
  }
  assert.deepEqual(mismatches, []);
  assert.deepEqual(tok.encode('Hello, world!'), [128000, 9906, 11, 1917, 0]);
  assert.deepEqual(tok.encode('Hello, world!', { addSpecialTokens: false }), [9906, 11, 1917, 0]);
  assert.deepEqual(tok.encode(''), [128000]);
  assert.equal(tok.decode(tok.encode('Hi'), { skipSpecialTokens: true }), 'Hi');
});

test('decode drops ids without a token even when the model has an unk token, as the Rust binding does', async () => {
  const added = (id: number, content: string) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
  const json = {
    version: '1.0', truncation: null, padding: null, normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null,
    added_tokens: [added(0, '<unk>'), added(4, '</s>')],
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: { '<unk>': 0, a: 1, b: 2, ab: 3 }, merges: ['a b'] },
  };
  const tok = Tokenizer.fromJSON(structuredClone(json), { unk_token: '<unk>', eos_token: '</s>' }, { name: 'tiny' });
  const ref = rust.Tokenizer.fromString(JSON.stringify(json));
  assert.equal(tok.unkTokenId, 0);
  assert.equal(tok.vocabSize, 5);
  for (const ids of [[3, 99, 1], [5, 6], [0, 3, 4, 7]]) {
    for (const skip of [false, true]) assert.equal(tok.decode(ids, { skipSpecialTokens: skip }), await ref.decode(ids, skip), JSON.stringify(ids));
  }
  assert.equal(tok.decode([3, 99, 1]), 'ab a'); // no decoder: tokens joined by spaces
  for (const text of ['abab', 'ba', 'ccc', 'a</s>b']) {
    assert.deepEqual(tok.encode(text), (await ref.encode(text, null, { addSpecialTokens: true })).getIds(), text);
  }
});
