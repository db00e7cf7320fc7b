// Solution styles of the arith task: the column scratchpad checked by re-doing each column from the
// text alone, the styles of every level, the style draw (shares, independence from the problems),
// the style read back from a response, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arithProblems, arithSftExamples } from '../../src/data/arith.ts';
import { ARITH_SOLUTION_STYLES, columnFactErrors, columnLines, drawStyles, parseStyleMix, solutionInStyle, solutionStyleOf } from '../../src/data/arith-solution-styles.ts';
import { answersEquivalent, extractAnswer } from '../../src/select/index.ts';

test('columns work the examples a person would', () => {
  assert.deepEqual(columnLines(57, '+', 38), ['57 + 38:', '7 + 8 = 15, carry 1.', '5 + 3 + 1 = 9.', '57 + 38 = 95.']);
  assert.deepEqual(columnLines(99, '+', 50), ['99 + 50:', '9 + 0 = 9.', '9 + 5 = 14.', '99 + 50 = 149.']);
  assert.deepEqual(columnLines(3, '+', 20), ['3 + 20:', '3 + 0 = 3.', '0 + 2 = 2.', '3 + 20 = 23.']);
  assert.deepEqual(columnLines(108, '-', 49), ['108 - 49:', '8 - 9: borrow, 18 - 9 = 9.', '0 - 1 - 4: borrow, 10 - 1 - 4 = 5.', '1 - 1 - 0 = 0.', '108 - 49 = 59.']);
  assert.deepEqual(columnLines(45, '-', 41), ['45 - 41:', '5 - 1 = 4.', '4 - 4 = 0.', '45 - 41 = 4.']);
});

/** Re-does the columns from the lines' own text: each column's digits, carry/borrow and result. */
function checkColumns(lines: string[], x: number, op: '+' | '-', y: number): void {
  const xs = String(x).split('').reverse().map(Number);
  const ys = String(y).split('').reverse().map(Number);
  const columns = lines.slice(1, -1);
  assert.equal(columns.length, Math.max(xs.length, ys.length), `one line per column: ${lines.join(' | ')}`);
  let carry = 0;
  const written: number[] = [];
  columns.forEach((line, i) => {
    const numbers = (line.split(':').pop()!.match(/\d+/g) ?? []).map(Number);
    const result = numbers[numbers.length - (line.endsWith('carry 1.') ? 2 : 1)]!;
    const a = xs[i] ?? 0;
    const b = ys[i] ?? 0;
    if (op === '+') {
      assert.equal(result, a + b + carry, line);
      assert.equal(/^\d \+ \d \+ 1 = /.test(line), carry === 1, `carry in: ${line}`);
      carry = result >= 10 ? 1 : 0;
      written.push(i === columns.length - 1 ? result : result % 10);
    } else {
      const borrow = a - carry - b < 0;
      assert.equal(line.includes('borrow'), borrow, line);
      assert.equal(result, a - carry - b + (borrow ? 10 : 0), line);
      carry = borrow ? 1 : 0;
      written.push(result);
    }
  });
  // the result line is the columns read from the leading one down
  const fromColumns = Number(written.map(String).reverse().join(''));
  assert.equal(lines[lines.length - 1], `${x} ${op} ${y} = ${fromColumns}.`);
  assert.equal(fromColumns, op === '+' ? x + y : x - y);
}

test('columns are right on every pair of operands the levels draw', () => {
  for (let x = 0; x <= 160; x += 1) {
    for (let y = 0; y <= 160; y += 7) {
      checkColumns(columnLines(x, '+', y), x, '+', y);
      if (y <= x) checkColumns(columnLines(x, '-', y), x, '-', y);
    }
  }
  checkColumns(columnLines(999, '-', 999), 999, '-', 999);
  checkColumns(columnLines(905, '-', 97), 905, '-', 97);
});

test('every style of every level keeps the answer; columns rewrite only sums and differences', () => {
  for (const level of [1, 2, 3, 4] as const) {
    for (const p of arithProblems({ split: 'train', count: 60, level, seed: 3 })) {
      for (const style of ['worked', 'columns', 'answer'] as const) {
        const text = solutionInStyle(p.solution, style);
        assert.ok(answersEquivalent(extractAnswer(text)!, p.label), `${style}: ${text}`);
      }
      assert.equal(solutionInStyle(p.solution, 'answer'), `\\boxed{${p.label}}.`);
      const columns = solutionInStyle(p.solution, 'columns');
      for (const step of p.solution.split('\n').slice(0, -1)) {
        const [, x, op, y, z] = /(\d+) ([-+*]) (\d+) = (\d+)/.exec(step)!;
        assert.ok(columns.split('\n').includes(`${x} ${op} ${y} = ${z}.`), `${step} -> ${columns}`);
        if (op !== '*') assert.ok(columns.split('\n').includes(`${x} ${op} ${y}:`), columns);
      }
      if (level <= 2) assert.ok(!columns.includes('*'), columns);
    }
  }
});

test('styles are drawn in the asked shares, independently of the problems', () => {
  const styles = drawStyles(20000, { columns: 0.3, answer: 0.7 }, 5);
  const share = styles.filter((s) => s === 'columns').length / styles.length;
  assert.ok(Math.abs(share - 0.3) < 0.015, `columns share ${share}`);
  assert.ok(styles.every((s) => s === 'columns' || s === 'answer'));
  assert.deepEqual(drawStyles(50, { columns: 0.3, answer: 0.7 }, 5), styles.slice(0, 50), 'prefix-stable');
  assert.notDeepEqual(drawStyles(50, { columns: 0.3, answer: 0.7 }, 6), styles.slice(0, 50), 'the seed matters');

  const options = { split: 'train', count: 200, level: 1, seed: 4 } as const;
  const plain = arithSftExamples(options);
  const mixed = arithSftExamples({ ...options, styles: { columns: 0.5, answer: 0.5 } });
  assert.deepEqual(mixed.map((e) => e.prompt), plain.map((e) => e.prompt), 'the same problems whatever the mix');
  const columnsCount = mixed.filter((e) => e.completion.includes('\n')).length;
  assert.ok(columnsCount > 70 && columnsCount < 130, `${columnsCount} of 200 in columns`);
  assert.ok(mixed.every((e) => e.completion.includes('\n') || /^\\boxed\{\d+\}\.$/.test(e.completion)));
});

test('style mixes parse with clear errors', () => {
  assert.deepEqual(parseStyleMix('columns=0.3, answer=0.7'), { columns: 0.3, answer: 0.7 });
  assert.deepEqual(parseStyleMix('columns'), { columns: 1 });
  assert.throws(() => parseStyleMix('column=0.3,answer=0.7', '--styles'), /--styles: unknown style "column"; styles are worked, columns, answer/);
  assert.throws(() => parseStyleMix('columns=0.3,answer=0.6'), /must sum to 1, they sum to 0.9/);
  assert.throws(() => parseStyleMix('columns=x,answer=1'), /columns needs a share between 0 and 1/);
  assert.throws(() => parseStyleMix('columns,answer'), /columns needs a share/);
  assert.throws(() => parseStyleMix(''), /empty value/);
  assert.throws(() => parseStyleMix('answer=0.5,answer=0.5'), /answer is given twice/);
  assert.throws(() => columnLines(3, '-', 5), /would be negative/);
  assert.throws(() => solutionInStyle('no answer here', 'columns'), /last line of a worked solution/);
});

test('solutionStyleOf reads the style of every written style back, and of nothing else', () => {
  for (const problem of arithProblems({ split: 'train', count: 60, levels: [1, 2, 3] })) {
    for (const style of ARITH_SOLUTION_STYLES) assert.equal(solutionStyleOf(solutionInStyle(problem.solution, style)), style, `${style}: ${problem.question}`);
  }
  assert.equal(solutionStyleOf('12 + 7:\n2 + 7 = 9'), 'columns', 'a cut scratchpad is still a scratchpad');
  assert.equal(solutionStyleOf('The answer is 5.'), undefined);
  assert.equal(solutionStyleOf(''), undefined);
});

test('columnFactErrors finds no error in written scratchpads and each kind of wrong fact', () => {
  for (const problem of arithProblems({ split: 'train', count: 80, levels: [1, 2] })) {
    const written = solutionInStyle(problem.solution, 'columns');
    const { facts, wrong } = columnFactErrors(written);
    assert.equal(wrong, 0, written);
    assert.ok(facts >= 1);
  }
  assert.deepEqual(columnFactErrors('32 + 16:\n2 + 6 = 7.\n3 + 1 = 4.\n32 + 16 = 47.'), { facts: 2, wrong: 1 });
  assert.deepEqual(columnFactErrors('36 + 34:\n6 + 4 = 9.\n3 + 3 = 5.'), { facts: 2, wrong: 2 }, 'a dropped carry and a wrong sum');
  assert.deepEqual(columnFactErrors('21 + 13:\n1 + 3 = 4, carry 1.'), { facts: 1, wrong: 1 }, 'a carry where none is due');
  assert.deepEqual(columnFactErrors('36 - 27:\n6 - 7: borrow, 16 - 7 = 8.\n3 - 1 - 2 = 0.'), { facts: 2, wrong: 1 });
  assert.deepEqual(columnFactErrors('\\boxed{5}.'), { facts: 0, wrong: 0 });
});
