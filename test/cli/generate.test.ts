// `intuitor generate` end to end on a fixture model, through the same entry point as the binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureDir, runCli as run } from '../helpers/cli.ts';
import { resolveGenerateConfig } from '../../src/cli/generate.ts';

const qwen = fixtureDir('qwen2-tiny');


test('streams a continuation; the same seed gives the same text, another seed another', async () => {
  const args = ['generate', '--model', qwen, '--prompt', 'The answer is', '--max-new-tokens', '10', '--temperature', '1'];
  const a = await run(...args, '--seed', '7');
  const b = await run(...args, '--seed', '7');
  const c = await run(...args, '--seed', '8');
  assert.equal(a.code, 0, a.stderr);
  assert.ok(a.stdout.trim().length > 0);
  assert.equal(a.stdout, b.stdout);
  assert.notEqual(a.stdout, c.stdout);
  assert.match(a.stderr, /\[10 tokens, finish length, self-certainty 0\.\d{4}\]/);
  assert.match(a.stderr, /tokens\/s\]/);
});

test('--n prints every sample with its self-certainty; --chat applies the chat template', async () => {
  const out = await run('generate', '--model', qwen, '--prompt', '2+2=', '--chat', '--system', 'Be brief.', '--n', '3', '--max-new-tokens', '5', '--seed', '1');
  assert.equal(out.code, 0, out.stderr);
  const headers = out.stdout.match(/^--- sample \d of 3 \(5 tokens, finish length, self-certainty 0\.\d{4}\) ---$/gm);
  assert.equal(headers?.length, 3);
});

test('greedy decoding (--temperature 0) is deterministic without a seed', async () => {
  const args = ['generate', '--model', qwen, '--prompt', 'Once upon', '--max-new-tokens', '6', '--temperature', '0'];
  assert.equal((await run(...args)).stdout, (await run(...args)).stdout);
});

test('invalid flags and folders fail with exit code 1 and a message naming the problem', async () => {
  const cases: [string[], RegExp][] = [
    [['generate', '--model', qwen, '--prompt', 'x', '--top-p', '1.5'], /--top-p must be <= 1, got 1\.5/],
    [['generate', '--model', qwen, '--prompt', 'x', '--n', 'abc'], /--n expects a number, got "abc"/],
    [['generate', '--model', qwen, '--prompt', 'x', '--max-new-tokens', '0'], /--max-new-tokens must be >= 1, got 0/],
    [['generate', '--model', qwen, '--prompt', 'x', '--system', 'hi'], /--system needs --chat/],
    [['generate', '--model', '/no/such/model', '--prompt', 'x'], /\/no\/such\/model/],
    [['generate', '--prompt', 'x'], /required option '--model <text>' not specified/],
  ];
  for (const [argv, message] of cases) {
    const out = await run(...argv);
    assert.equal(out.code, 1, `${argv.join(' ')} -> ${out.code}`);
    assert.match(out.stderr, message);
  }
});

test('the config resolver validates values that come from elsewhere than the command line', () => {
  assert.throws(() => resolveGenerateConfig({ model: 'm', prompt: 'p', temperature: -1 }), /--temperature must be >= 0, got -1/);
  assert.throws(() => resolveGenerateConfig({ model: 'm', prompt: 'p', dtype: 'int8' }), /--dtype must be one of float32, bfloat16, float16, got "int8"/);
  assert.throws(() => resolveGenerateConfig({ model: 'm', prompt: 'p', beams: 4 }), /unknown option: --beams/);
  assert.deepEqual(resolveGenerateConfig({ model: 'm', prompt: 'p' }).maxNewTokens, 256);
});
