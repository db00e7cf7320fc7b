// The synthetic `arith` task: determinism, disjoint splits, steps per level, arithmetic checked
// independently of the generator, a closed vocabulary, answer extraction, and option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARITH_LEVELS,
  ARITH_TEST_FRACTION,
  ARITH_VOCABULARY,
  arithProblems,
  arithQaItems,
  arithSftExamples,
  arithSplitOf,
  type ArithLevel,
  type ArithOptions,
  type ArithProblem,
} from '../../src/data/arith.ts';
import { answersEquivalent, extractAnswer } from '../../src/select/index.ts';

/** A tiny evaluator for "20+3*4-(5-2)*6": digits, + - *, parentheses, the usual precedence. */
function evaluate(expression: string): number {
  const tokens = expression.match(/\d+|[-+*()]/g) ?? [];
  assert.equal(tokens.join(''), expression, `unexpected characters in ${expression}`);
  let at = 0;
  const factor = (): number => {
    const t = tokens[at++];
    if (t === '(') {
      const v = sum();
      assert.equal(tokens[at++], ')', `unbalanced ${expression}`);
      return v;
    }
    assert.match(t ?? '', /^\d+$/, `expected a number in ${expression}`);
    return Number(t);
  };
  const product = (): number => {
    let v = factor();
    while (tokens[at] === '*') {
      at++;
      v *= factor();
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[at] === '+' || tokens[at] === '-') {
      const op = tokens[at++];
      const w = product();
      v = op === '+' ? v + w : v - w;
    }
    return v;
  };
  const value = sum();
  assert.equal(at, tokens.length, `trailing tokens in ${expression}`);
  return value;
}

const STEP = /(\d+) ([-+*]) (\d+) = (\d+)/g;
const numbers = (text: string) => (text.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);

function many(options: Partial<ArithOptions> = {}): ArithProblem[] {
  return arithProblems({ split: 'train', count: 4000, seed: 11, ...options });
}

test('evaluate, the independent checker, computes with precedence and parentheses', () => {
  assert.equal(evaluate('20+3*4-2*5'), 22);
  assert.equal(evaluate('(5-3)*6-4+7'), 15);
  assert.equal(evaluate('(20+7-3*4)*2'), 30);
  assert.throws(() => evaluate('(2+3'), /unbalanced/);
});

test('the same seed gives the same problems, another seed others, and a shorter request is a prefix', () => {
  const a = arithProblems({ split: 'train', count: 200, seed: 5 });
  assert.deepEqual(arithProblems({ split: 'train', count: 200, seed: 5 }), a);
  assert.deepEqual(arithProblems({ split: 'train', count: 50, seed: 5 }), a.slice(0, 50));
  const b = new Set(arithProblems({ split: 'train', count: 200, seed: 6 }).map((p) => p.question));
  const shared = a.filter((p) => b.has(p.question)).length;
  assert.ok(shared < 10, `seeds 5 and 6 share ${shared} of 200 questions`);
  assert.deepEqual(arithProblems({ split: 'test', count: 20 }), arithProblems({ split: 'test', count: 20, seed: 0 }), 'seed defaults to 0');
  assert.deepEqual(a.map((p) => p.index), [...Array(200).keys()]);
});

test('train and test never share a computation or a question, whatever the seeds', () => {
  // Level 1 has about 8,300 computations, so without the split these sets would overlap heavily.
  const train = [...arithProblems({ split: 'train', count: 5000, level: 1, seed: 1 }), ...many({ seed: 2 })];
  const test = [...arithProblems({ split: 'test', count: 800, level: 1, seed: 3 }), ...many({ split: 'test', count: 2000, seed: 1 })];
  const trainKeys = new Set(train.map((p) => p.expression));
  const trainQuestions = new Set(train.map((p) => p.question));
  assert.deepEqual(test.filter((p) => trainKeys.has(p.expression)).map((p) => p.expression), []);
  assert.deepEqual(test.filter((p) => trainQuestions.has(p.question)).map((p) => p.question), []);
  assert.ok(train.every((p) => arithSplitOf(p.expression) === 'train'));
  assert.ok(test.every((p) => arithSplitOf(p.expression) === 'test'));
  // The reserved bucket holds about ARITH_TEST_FRACTION of all computations.
  const keys = Array.from({ length: 4000 }, (_, i) => `${i + 2}+${(i % 50) + 2}`);
  const share = keys.filter((k) => arithSplitOf(k) === 'test').length / keys.length;
  assert.ok(Math.abs(share - ARITH_TEST_FRACTION) < 0.03, `test share ${share}`);
  // Within one call computations are unique unless unique: false.
  assert.equal(new Set(train.slice(0, 5000).map((p) => p.expression)).size, 5000);
});

test('each level has its number of steps: one "x op y = z" line per step, then the answer', () => {
  for (const level of ARITH_LEVELS) {
    for (const p of many({ level, count: 1000 })) {
      assert.equal(p.level, level);
      const lines = p.solution.split('\n');
      assert.equal(lines.length, level + 1, p.solution);
      assert.equal(lines.slice(0, -1).filter((l) => [...l.matchAll(STEP)].length === 1).length, level, p.solution);
      assert.equal((p.solution.match(/=/g) ?? []).length, level, p.solution);
      assert.equal(lines[level], `The answer is \\boxed{${p.label}}.`);
      const products = (p.expression.match(/\*/g) ?? []).length;
      if (level <= 2) assert.equal(products, 0, p.expression);
      if (level === 3) assert.equal(products, 1, p.expression);
      if (level === 4) {
        assert.ok(products >= 1, p.expression);
        assert.match(p.expression, /\(|[-+]\d+\*/, `level 4 needs parentheses or precedence: ${p.expression}`);
      }
    }
  }
});

test('every step is right, the answer is the value of the expression, and the question gives its numbers', () => {
  for (const p of many()) {
    const value = evaluate(p.expression);
    assert.equal(p.label, String(value), `${p.expression} = ${value}, labelled ${p.label}`);
    assert.deepEqual(numbers(p.question), numbers(p.expression.replace(/[-+*()]/g, ' ')), p.question);
    const known = new Set(numbers(p.question));
    let last: number | undefined;
    for (const [, x, op, y, z] of p.solution.matchAll(STEP)) {
      const [a, b, c] = [Number(x), Number(y), Number(z)];
      assert.equal(op === '+' ? a + b : op === '-' ? a - b : a * b, c, `${x} ${op} ${y} = ${z} in ${p.solution}`);
      assert.ok(known.has(a) && known.has(b), `${x} and ${y} come from the question or an earlier step: ${p.solution}`);
      assert.ok(c >= 2 && c <= 999, `${c} out of [2, 999]`);
      known.add(c);
      last = c;
    }
    assert.equal(last, value);
  }
});

test('extractAnswer finds the label in every solution and answersEquivalent agrees with the value', () => {
  for (const p of many({ count: 3000, seed: 12 })) {
    assert.equal(extractAnswer(p.solution), p.label, p.solution);
    assert.ok(answersEquivalent(p.label, String(evaluate(p.expression))));
    assert.equal(answersEquivalent(p.label, String(evaluate(p.expression) + 1)), false);
  }
});

test('the text uses only ARITH_VOCABULARY, digits and a few punctuation marks, and all of the vocabulary', () => {
  const vocabulary = new Set(ARITH_VOCABULARY);
  assert.equal(vocabulary.size, ARITH_VOCABULARY.length, 'no word listed twice');
  const used = new Set<string>();
  for (const p of [...many(), ...many({ split: 'test', count: 1000 })]) {
    assert.doesNotMatch(p.question, /[\n=]/, 'a question is one line with no working');
    for (const text of [p.question, p.solution]) {
      assert.match(text, /^[A-Za-z0-9 .,?+\-*=(){}\\\n]+$/, text);
      for (const word of text.match(/[A-Za-z]+/g)!) {
        assert.ok(vocabulary.has(word), `"${word}" is not in ARITH_VOCABULARY: ${text}`);
        used.add(word);
      }
    }
  }
  assert.deepEqual(ARITH_VOCABULARY.filter((w) => !used.has(w)), [], 'every listed word is written somewhere');
  assert.ok(ARITH_VOCABULARY.length <= 120);
});

test('the wording varies: several scenes and phrasings per level', () => {
  for (const level of ARITH_LEVELS) {
    const problems = many({ level, count: 1000 });
    const skeletons = new Set(problems.map((p) => p.question.replace(/\d+/g, '#')));
    assert.ok(skeletons.size >= 30, `level ${level}: only ${skeletons.size} distinct wordings`);
    for (const scene of ['shop', 'train', 'school', 'Tom']) {
      assert.ok(problems.some((p) => p.question.includes(scene)), `level ${level} never mentions ${scene}`);
    }
  }
});

test('levels are balanced in shuffled blocks; levels restricts them', () => {
  const mixed = arithProblems({ split: 'train', count: 400, seed: 3 });
  const blocks = Array.from({ length: 100 }, (_, i) => mixed.slice(4 * i, 4 * i + 4).map((p) => p.level));
  for (const block of blocks) assert.deepEqual([...block].sort(), [1, 2, 3, 4]);
  assert.ok(new Set(blocks.map((b) => b.join())).size > 5, 'block orders vary');
  const some = arithProblems({ split: 'test', count: 100, levels: [1, 3], seed: 3 });
  assert.equal(some.filter((p) => p.level === 1).length, 50);
  assert.equal(some.filter((p) => p.level === 3).length, 50);
});

test('QA items and SFT pairs are the problems in the shapes the trainers read', () => {
  const options: ArithOptions = { split: 'test', count: 30, levels: [2, 4], seed: 9 };
  const problems = arithProblems(options);
  assert.deepEqual(arithQaItems(options), problems.map((p) => ({ index: p.index, question: p.question, label: p.label })));
  assert.deepEqual(arithSftExamples(options), problems.map((p) => ({ prompt: p.question, completion: p.solution })));
});

test('bad options give clear errors', () => {
  const ok: ArithOptions = { split: 'train', count: 1 };
  for (const count of [0, -3, 1.5, Number.NaN]) {
    assert.throws(() => arithProblems({ ...ok, count }), /arithProblems: count must be a positive integer, got/);
  }
  assert.throws(() => arithProblems({ ...ok, level: 5 as ArithLevel }), /arithProblems: unknown level 5; levels are 1, 2, 3, 4/);
  assert.throws(() => arithProblems({ ...ok, levels: [1, '2' as unknown as ArithLevel] }), /unknown level "2"/);
  assert.throws(() => arithProblems({ ...ok, levels: [] }), /levels must be a non-empty array/);
  assert.throws(() => arithProblems({ ...ok, level: 1, levels: [2] }), /give level or levels, not both/);
  assert.throws(() => arithProblems({ ...ok, split: 'dev' as 'test' }), /split must be "train" or "test", got "dev"/);
  assert.throws(() => arithProblems({ ...ok, seed: 0.5 }), /seed must be a safe integer/);
  assert.throws(() => arithProblems({ ...ok, unique: 'yes' as unknown as boolean }), /unique must be true or false/);
  // Level 1 has about 1,000 test computations: asking for more distinct ones fails clearly...
  assert.throws(() => arithProblems({ split: 'test', count: 2000, level: 1 }), /found only \d+ distinct level-1 test problems before running out; ask for fewer, or pass unique: false/);
  // ...while unique: false allows repeats.
  const repeated = arithProblems({ split: 'test', count: 2000, level: 1, unique: false });
  assert.ok(new Set(repeated.map((p) => p.expression)).size < 2000);
});

test('10,000 problems take well under a second', () => {
  arithProblems({ split: 'train', count: 1000, seed: 99 }); // warm up
  const start = performance.now();
  const problems = arithProblems({ split: 'train', count: 10_000, seed: 100 });
  const ms = performance.now() - start;
  assert.equal(problems.length, 10_000);
  assert.ok(ms < 1000, `10,000 problems took ${ms.toFixed(0)} ms`);
});
