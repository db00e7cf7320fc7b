// The shared readers of text and JSON files (src/config/json-file.ts) and the files read through
// them: strict UTF-8 with the line and byte, a BOM dropped, syntax errors at line:column, fs errors
// with the path; bon/eval results files; init's --config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeUtf8, firstInvalidUtf8, parseJson, readJsonFile } from '../../src/config/json-file.ts';
import { readResults } from '../../src/eval/results-file.ts';
import { runCli } from '../helpers/cli.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

test('UTF-8: well-formed sequences pass; overlongs, surrogates, cut and stray bytes are found where they start', () => {
  assert.equal(firstInvalidUtf8(new TextEncoder().encode('a é € 😀')), -1);
  assert.equal(firstInvalidUtf8(bytes(0x61, 0xc0, 0x80)), 1, 'overlong 2-byte form of NUL');
  assert.equal(firstInvalidUtf8(bytes(0xe0, 0x80, 0x80)), 0, 'overlong 3-byte form');
  assert.equal(firstInvalidUtf8(bytes(0x61, 0x62, 0xed, 0xa0, 0x80)), 2, 'a UTF-16 surrogate');
  assert.equal(firstInvalidUtf8(bytes(0xf4, 0x90, 0x80, 0x80)), 0, 'above U+10FFFF');
  assert.equal(firstInvalidUtf8(bytes(0x61, 0xe2, 0x82)), 1, 'cut inside a sequence');
  assert.equal(firstInvalidUtf8(bytes(0x80)), 0, 'a continuation byte alone');
  assert.throws(() => decodeUtf8(bytes(0x61, 0x0a, 0x62, 0x63, 0xff), 'f.txt'), /^Error: f\.txt:2:3: invalid UTF-8 \(byte 0xff\); the file must be UTF-8 text$/);
  assert.throws(() => decodeUtf8(bytes(0x62, 0xfe), 'f.jsonl', 7), /^Error: f\.jsonl:7:2: /);
  assert.equal(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d), 'f.json'), '{}', 'a byte-order mark is dropped');
});

test('JSON syntax errors give line and column; a text cut short says so', () => {
  assert.throws(() => parseJson('{\n  "a": 1\n  "b": 2\n}', 'c.json'), /^Error: c\.json:3:3: not valid JSON: /);
  assert.throws(() => parseJson('{"a": [1, 2', 'c.json'), /^Error: c\.json:1:12: not valid JSON: it ends early \(cut short\?\)/);
  assert.throws(() => parseJson('{"a": "b', 'c.json'), /not valid JSON: it ends early/);
  assert.throws(() => parseJson('  \n', 'c.json'), /^Error: c\.json: empty; expected JSON$/);
  assert.throws(() => parseJson('{"a": }', 'd.jsonl', 4), /^Error: d\.jsonl:4(:\d+)?: not valid JSON/);
  assert.throws(() => readJsonFile('/nonexistent/intuitor/x.json', 'settings'), /^Error: \/nonexistent\/intuitor\/x\.json: cannot read the settings: no such file \(ENOENT\)$/);
});

test('results files: strict UTF-8 on complete lines; a last line cut inside a character is dropped, not refused', () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-json-readers-'));
  try {
    const path = join(folder, 'r.bon.jsonl');
    const euro = Buffer.from('{"index": 1, "question": "€"}', 'utf8');
    writeFileSync(path, Buffer.concat([Buffer.from('\ufeff{"index": 0}\r\n'), euro.subarray(0, euro.length - 4)]));
    assert.deepEqual(readResults(path), [{ index: 0 }]);
    assert.equal(readFileSync(path, 'utf8'), '\ufeff{"index": 0}\r\n', 'the cut line is removed so the item is redone');
    writeFileSync(path, Buffer.concat([Buffer.from('{"index": 0}\n{"question": "'), bytes(0xff), Buffer.from('"}\n')]));
    assert.throws(() => readResults(path), new RegExp(`^Error: ${path}:2:15: invalid UTF-8 \\(byte 0xff\\)`));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('init --model-config: a broken model configuration file is named', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-json-readers-'));
  try {
    const file = join(folder, 'model.json');
    writeFileSync(file, '{"hidden_size": 64,\n "num_hidden_layers": }');
    const out = await runCli('init', '--model-config', file, '--tokenizer', 'arith', '--output', join(folder, 'model'));
    assert.equal(out.code, 1);
    assert.match(out.stderr, new RegExp(`${file}(:\\d+:\\d+)?: not valid JSON: Unexpected token`));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
