import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { resolveGrpoConfig } from '../../src/rl/config.ts';
import { ARITH_TINY_FORMAT, INTUITOR_SYSTEM_PROMPT, promptIds } from '../../src/rl/prompt.ts';
import { fixtureDir } from '../helpers/cli.ts';

const tokenizer = await Tokenizer.fromDir(fixtureDir('qwen2-tiny'));
const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: false });

test("the default prompt is the Intuitor paper's system prompt, as a system message in the chat template", () => {
  const config = resolveGrpoConfig({ model: 'm', chat: true });
  assert.equal(config.system, INTUITOR_SYSTEM_PROMPT);
  assert.match(INTUITOR_SYSTEM_PROMPT, /^You are a helpful AI Assistant, .*\\boxed\{Your Answer\}\. Please stop generation immediately after outputing the box\.$/);
  const text = decode(promptIds(tokenizer, 'What is 2 + 3?', config));
  assert.equal(text, `<|im_start|>system\n${INTUITOR_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n`);
});

test('the system prompt is a first paragraph without --chat, and --system "" leaves it out', () => {
  const plain = resolveGrpoConfig({ model: 'm' });
  assert.equal(decode(promptIds(tokenizer, 'What is 2 + 3?', plain)), `${INTUITOR_SYSTEM_PROMPT}\n\nWhat is 2 + 3?`);
  const bare = resolveGrpoConfig({ model: 'm', system: '', instruction: 'Box it.' });
  assert.equal(decode(promptIds(tokenizer, 'What is 2 + 3?', bare)), 'What is 2 + 3?\nBox it.');
});

test("the embedded model's format: no system message, the boxed instruction after the question", () => {
  const text = decode(promptIds(tokenizer, 'What is 2 + 3?', ARITH_TINY_FORMAT));
  assert.doesNotMatch(text, /You are a helpful AI Assistant/);
  assert.ok(text.includes('What is 2 + 3?\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>'), text);
});
