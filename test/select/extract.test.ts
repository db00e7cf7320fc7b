// Final-answer extraction on hand-written responses: boxes (nested braces, several, side by side),
// GSM8K ####, JSON, "answer is", prose fallbacks, multiple choice, forced formats, no answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAnswer, plainNumber } from '../../src/select/extract.ts';

const cases = (table: [string, string | undefined][], options?: Parameters<typeof extractAnswer>[1]) => {
  for (const [text, expected] of table) assert.equal(extractAnswer(text, options), expected, JSON.stringify(text));
};

test('\\boxed and \\fbox: nested braces, escaped braces, the last box wins', () => {
  cases([
    ['So the result is \\boxed{\\frac{\\sqrt{3}}{2}}.', '\\frac{\\sqrt{3}}{2}'],
    ['First \\boxed{1}, then after more work we get \\boxed{\\dfrac{1}{2}}.', '\\dfrac{1}{2}'],
    ['The set is $\\boxed{\\{1, \\{2\\}\\}}$', '\\{1, \\{2\\}\\}'],
    ['\\fbox{12}', '12'],
    ['$\\boxed {x^{2^{3}}}$', 'x^{2^{3}}'],
    ['an unclosed \\boxed{7', '7'],
    ['\\boxed{}', undefined],
  ]);
});

test('boxes side by side form one list; boxes with words between them do not', () => {
  cases([
    ['$\\boxed{1}\\boxed{2}$', '1, 2'],
    ['The roots are \\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}.', '-2, 1'],
    ['\\boxed{3}, \\boxed{4}', '3, 4'],
    ['x = \\boxed{3}, so y = \\boxed{5}', '5'],
    ['\\boxed{5}\n\\boxed{5}', '5'],
  ]);
});

test('GSM8K "####", JSON "answer" fields and "the answer is"', () => {
  cases([
    ['Natalia sold 48 + 24 = 72 clips.\n#### 72', '72'],
    ['He pays 1000 + 234.\n#### 1,234', '1234'],
    ['#### $18.', '18'],
    ['#### 72 clips', '72'],
    ['#### \\frac{1}{2}', '\\frac{1}{2}'],
    ['Here you go: {"reasoning": "2+2", "answer": "4"} hope that helps', '4'],
    ['{"answer": 3.5}', '3.5'],
    ["{'answer': '\\\\frac{1}{2}'}", '\\frac{1}{2}'],
    ['{"answer": "\\\\frac{1}{3}"}', '\\frac{1}{3}'],
    ['Thus the answer is 42.', '42'],
    ['The final answer is $\\frac{3}{4}$. I hope it is correct.', '\\frac{3}{4}'],
    ['Final Answer: The largest $n$ is 34.', '34'],
    ['**Answer:** 17 apples', '17'],
    ['The answer is Evelyn.', 'Evelyn'],
    ['The answer is correct, it is 8.', '8'],
    ['The answer is correct.', undefined],
    ["Let me double-check the answer: it's fine. \\boxed{9}", '9'],
  ]);
});

test('of several markers, the one that starts last wins', () => {
  cases([
    ['Interest: \\boxed{200}, then \\boxed{255}. Final Answer: The final answer is $10,455$.', '10,455'],
    ['The answer is 5. Wait, that is wrong; recomputing gives \\boxed{6}.', '6'],
    ['\\boxed{3}\n#### 4', '4'],
    ['The final answer is: $\\boxed{12}$', '12'],
  ]);
});

test('no marker: a bare expression, else the last math span or number, whichever is later', () => {
  cases([
    ['\\frac{10}{9}', '\\frac{10}{9}'],
    ['x = 3', 'x = 3'],
    ['28 percent', '28 percent'],
    ['1,000.99$', '1000.99'],
    ['1,22', '1.22'],
    ['.4', '0.4'],
    ['$-2,1$', '$-2,1$'],
    ['We find that $x \\leq 2$.', 'x \\leq 2'],
    ['The volume of $ABCD$ is 120 cubic units', '120'],
    ['the number is not 10 which is 1,000.99€', '1000.99'],
    ['Soucis : 2,74 $ a..', '2.74'],
    ['So the probability is 2/3. <|im_start|>user', '2/3'],
    ['There were 1 000 people', '1000'],
    ['The temperature dropped to -5 overnight', '-5'],
    ['AZYUK2A', undefined],
    ['no answer here', undefined],
    ['', undefined],
    ['Answer $ \n 9 \n $', '9'],
  ]);
});

test('forced formats look in one place only', () => {
  const text = 'We get $7$. The answer is 8. \\boxed{9} #### 10 and then 11';
  assert.equal(extractAnswer(text), '10');
  assert.equal(extractAnswer(text, { format: 'boxed' }), '9');
  assert.equal(extractAnswer(text, { format: 'gsm8k' }), '10');
  assert.equal(extractAnswer(text, { format: 'answer-is' }), '8');
  assert.equal(extractAnswer(text, { format: 'math' }), '7');
  assert.equal(extractAnswer(text, { format: 'last-number' }), '11');
  assert.equal(extractAnswer('no json here', { format: 'json' }), undefined);
  assert.equal(extractAnswer('The answer is 8.', { format: 'boxed' }), undefined);
  assert.throws(() => extractAnswer('x', { format: 'latex' as never }), /unknown format "latex"/);
  assert.throws(() => extractAnswer(42 as never), /text must be a string/);
});

test('multiple choice: letters from markers, "option", a bare letter, or the last (X)', () => {
  const mc = { multipleChoice: true } as const;
  cases(
    [
      ['The answer is (B).', 'B'],
      ['Answer: C', 'C'],
      ['so the correct option is \\boxed{\\text{(D)}}', 'D'],
      ['Therefore \\boxed{A}', 'A'],
      ['I would pick option (e) here', 'E'],
      ['B', 'B'],
      ['Comparing (A) with (C), (C) is larger, so that is it.', 'C'],
      ['The answer is (B) 12 apples.', 'B'],
      ['The answer is 12.', undefined],
      ['nothing to choose', undefined],
    ],
    mc,
  );
  assert.equal(extractAnswer('The answer is (E).', { multipleChoice: 'ABCD' }), undefined);
  assert.equal(extractAnswer('The answer is (d).', { multipleChoice: 'ABCD' }), 'D');
  assert.equal(extractAnswer('pick \\boxed{C} or The answer is (B)', { multipleChoice: true, format: 'boxed' }), 'C');
  // Without the option, "(B)" is an ordinary answer string.
  assert.equal(extractAnswer('The answer is (B).'), '(B)');
});

test('plainNumber resolves separators in prose numbers and rejects non-numbers', () => {
  assert.equal(plainNumber('7,425,000'), '7425000');
  assert.equal(plainNumber('1000,99'), '1000.99');
  assert.equal(plainNumber('0,111'), '0.111');
  assert.equal(plainNumber('1,000.5'), '1000.5');
  assert.equal(plainNumber('-.5'), '-0.5');
  assert.equal(plainNumber('10/9'), '10/9');
  assert.equal(plainNumber('1,2,3'), undefined);
  assert.equal(plainNumber('12 apples'), undefined);
});
