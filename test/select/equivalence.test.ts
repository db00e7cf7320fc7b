// Answer normalisation and mathematical equivalence on hand cases, and grouping of N answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersEquivalent, groupAnswers } from '../../src/select/equivalence.ts';
import { normalizeAnswer } from '../../src/select/normalize.ts';

const same = (pairs: [string, string][]) => {
  for (const [a, b] of pairs) {
    assert.ok(answersEquivalent(a, b), `${a}  ==  ${b}`);
    assert.ok(answersEquivalent(b, a), `${b}  ==  ${a} (symmetric)`);
  }
};
const different = (pairs: [string, string][]) => {
  for (const [a, b] of pairs) {
    assert.ok(!answersEquivalent(a, b), `${a}  !=  ${b}`);
    assert.ok(!answersEquivalent(b, a), `${b}  !=  ${a} (symmetric)`);
  }
};

test('normalizeAnswer strips presentation', () => {
  const table: [string, string][] = [
    ['$\\frac{1}{2}$', '\\frac{1}{2}'],
    ['\\(\\dfrac12\\)', '\\frac{1}{2}'],
    ['\\tfrac{3}4', '\\frac{3}{4}'],
    ['\\left( 1, 2 \\right)', '( 1, 2 )'],
    ['\\text{5 cm}', '5'],
    ['15\\mbox{ cm}^2', '15'],
    ['125\\textnormal{ miles}', '125'],
    ['90^\\circ', '90'],
    ['28\\%', '28'],
    ['12 dollars', '12'],
    ['1{,}000', '1000'],
    ['11,\\!111,\\!100', '11111100'],
    ['1,000', '1000'],
    ['1 000', '1000'],
    ['5.', '5'],
    ['x = 3', '3'],
    ['x = 5+5+1 = 7 = 11', '11'],
    ['y = 2x + 1', 'y = 2x + 1'],
    ['x \\approx 1.41', '1.41'],
    ['\\frac{1}{3} \\approx 0.33', '\\frac{1}{3}'],
    ['x \\in [-2, 7]', '[-2, 7]'],
    ['\\text{(C)}', 'C'],
    ['\\boxed{\\$16,\\!386.20}', '16386.20'],
    ['\\\\frac{1}{5}', '\\frac{1}{5}'],
    ['2m', '2m'],
    ['$ $', ''],
  ];
  for (const [raw, expected] of table) assert.equal(normalizeAnswer(raw), expected, raw);
});

test('numbers: fractions, decimals, separators, trailing zeros, negatives', () => {
  same([
    ['1/2', '0.5'],
    ['0.5', '\\frac{1}{2}'],
    ['\\frac{1}{2}', '\\dfrac12'],
    ['\\tfrac{1}{2}', '.5'],
    ['1,000', '1000'],
    ['1 000', '1000'],
    ['3.0', '3'],
    ['3', '3.00'],
    ['\\frac34', '0.75'],
    ['-\\frac{1}{4}', '-0.25'],
    ['\\frac{-1}{4}', '-0.25'],
    ['-3', '-3.0'],
    ['1/3', '0.3333333333'],
    ['10^3', '1000'],
    ['1e3', '1000'],
    ['−3', '-3'],
    ['2×3', '6'],
    ['√12', '2\\sqrt{3}'],
    ['π/2', '\\frac{\\pi}{2}'],
    ['= 5', '5'],
  ]);
  different([
    ['1/2', '0.51'],
    ['3', '-3'],
    ['1000', '100'],
    ['1/3', '0.33'],
    ['16386.20', '16386.17'],
    ['12', '1,2'],
  ]);
});

test('presentation: variables, units, text, percent, degrees', () => {
  same([
    ['x=3', '3'],
    ['k = \\frac{1}{3}', '1/3'],
    ['\\text{5 cm}', '5'],
    ['5\\text{ cm}', '5 cm'],
    ['90^\\circ', '90'],
    ['90^{\\circ}', '90 degrees'],
    ['50\\%', '50'],
    ['\\$5', '5 dollars'],
    ['\\text{Yes}', 'yes'],
    ['\\text{E}', 'E'],
    ['\\text{(C)}', 'C'],
  ]);
  different([
    ['yes', 'no'],
    ['A', 'B'],
    ['x=3', '4'],
    ['2x+3=1', '1'],
  ]);
});

test('radicals, pi and symbolic forms', () => {
  same([
    ['2\\sqrt{2}', '\\sqrt{8}'],
    ['\\sqrt{2}/2', '\\frac{1}{\\sqrt{2}}'],
    ['\\sqrt3', '\\sqrt{3}'],
    ['\\sqrt[3]{27}', '3'],
    ['\\binom{5}{2}', '10'],
    ['\\dbinom{6}3', '20'],
    ['\\pi/2', '\\frac{\\pi}{2}'],
    ['\\frac{\\pi}{4}', '0.25\\pi'],
    ['2\\pi', '6.283185307'],
    ['\\frac94\\pi', '\\frac{9}{4}\\pi'],
    ['\\cos\\frac{\\pi}{3}', '1/2'],
    ['x^2+2x+1', '(x+1)^2'],
    ['2 \\sin b \\cos a', '2\\cos a\\sin b'],
    ['\\frac{\\pi r}{h+r}', '\\pi r/(r+h)'],
    ['i', '\\sqrt{-1}'],
  ]);
  different([
    ['2\\sqrt{2}', '\\sqrt{2}'],
    ['\\pi', '3.14'],
    ['x+1', 'x-1'],
    ['2x', '2y'],
    ['\\sqrt{x}', 'x'],
  ]);
});

test('tuples, intervals, sets, lists, unions, \\pm and matrices', () => {
  same([
    ['\\left(1,2\\right)', '(1, 2)'],
    ['(\\frac{1}{2}, 3)', '(0.5, 3.0)'],
    ['[0,1)', '[0, 1)'],
    ['(-\\infty, 3]', '(-\\infty,3]'],
    ['\\{1,2\\}', '\\{2,1\\}'],
    ['1, -2', '-2, 1'],
    ['1, 3', '(1, 3)'],
    ['12 \\text{ and } 13', '12, 13'],
    ['(2, 12) \\cup (12, 102)', '(12,102) \\cup (2,12)'],
    ['1 \\pm \\sqrt{2}', '1-\\sqrt{2}, 1+\\sqrt{2}'],
    ['\\{1\\pm\\sqrt{5},-2\\}', '\\{-2, 1+\\sqrt{5}, 1-\\sqrt{5}\\}'],
    ['\\{1\\}, \\{2, 3\\}', '\\{3, 2\\}, \\{1\\}'],
    ['{1, 3}', '1, 3'],
    ['\\begin{pmatrix}1 & \\frac{1}{2} \\\\ 0 & 1\\end{pmatrix}', '\\begin{bmatrix}1 & 0.5 \\\\ 0 & 1\\end{bmatrix}'],
  ]);
  different([
    ['(1,2)', '(2,1)'],
    ['(0,1)', '[0,1)'],
    ['[0,9)', '[0,1)'],
    ['3, 1', '(1, 3)'],
    ['\\{1,2\\}', '\\{1,3\\}'],
    ['\\{1\\}, \\{2\\}', '\\{1, 2\\}'],
    ['1,2', '1,2,3'],
    ['(-\\infty, -3] \\cup [2, \\infty)', '[-3, 2]'],
    ['\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}', '\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}'],
  ]);
});

test('relations: orientation, scaling, and an equation against its value', () => {
  same([
    ['x \\geq 5', '5 \\le x'],
    ['x > 5', 'x \\gt 5'],
    ['-x > -1', 'x < 1'],
    ['x \\neq 3', 'x != 3'],
    ['2x+4y-3=0', 'y=-\\frac{1}{2}x+\\frac{3}{4}'],
    ['x^2/4 + y^2/3 = 1', 'x^2/16 + y^2/12 = 1/4'],
    ['f(x) = 2x+1', '2x+1'],
  ]);
  different([
    ['x < 5', 'x > 5'],
    ['x \\leq 5', 'x < 5'],
    ['x > -1', 'x < 1'],
    ['7 = 11a+c', '11a+c'],
    ['a + 3z = 0', '0'],
  ]);
});

test('an answer means the same whatever was parsed before it', () => {
  // Parsing q_{1} once declared q as a list in the shared engine, which broke a later q^2
  // (q appears in no other test of this file).
  assert.deepEqual(groupAnswers(['q_{1}', 'q^2 + 2q + 1', '(q+1)^2', 'q_{1}']), [0, 1, 1, 0]);
  assert.ok(answersEquivalent('q^{2}', 'q \\cdot q'));
});

test('empty answers are never equivalent to anything', () => {
  assert.equal(answersEquivalent('', ''), false);
  assert.equal(answersEquivalent('$ $', '0'), false);
});

test('groupAnswers: class ids by first appearance, -1 for no answer', () => {
  assert.deepEqual(groupAnswers(['1/2', '0.5', undefined, '3', '\\frac{1}{2}', '', 'x=3', '4', '3.0']), [0, 0, -1, 1, 0, -1, 1, 2, 1]);
  assert.deepEqual(groupAnswers([]), []);
  assert.deepEqual(groupAnswers([undefined, undefined]), [-1, -1]);
  assert.throws(() => groupAnswers([3 as never]), /answers must be strings or undefined/);
});

test('groupAnswers on 64 varied answers stays fast (each distinct answer parsed once)', () => {
  // k = 0..3 as \frac{k}{4} and as a decimal (responses 0-31), then x^k + k written two ways (32-63).
  const k = (i: number) => Math.floor(i / 2) % 4;
  const answers = Array.from({ length: 64 }, (_, i) =>
    i < 32 ? (i % 2 === 0 ? `\\frac{${k(i)}}{4}` : `${k(i) / 4}`) : i % 2 === 0 ? `x^{${k(i)}}+${k(i)}` : `${k(i)}+x^{${k(i)}}`,
  );
  const start = performance.now();
  const ids = groupAnswers(answers);
  const elapsed = performance.now() - start;
  assert.deepEqual(ids, answers.map((_, i) => (i < 32 ? k(i) : 4 + k(i))));
  assert.ok(elapsed < 2000, `grouping 64 answers took ${elapsed.toFixed(0)} ms`);
});
