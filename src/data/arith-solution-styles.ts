// Ways to write the solution of an arith problem (arith.ts), for making a starting policy that
// holds more than one way to answer:
//
//   worked    the generator's own solution: one "x op y = z" line per step, each result written
//             in one go, then "The answer is \boxed{z}."
//   columns   a scratchpad: every addition and subtraction is worked column by column from the
//             units, with carries and borrows, so that each written number is a one-digit fact
//             or a copy; then the same boxed line. Products are written in one line, as in worked.
//   answer    the answer alone: "\boxed{z}." (a one-shot guess for a model that cannot add in
//             its head)
//
// Why columns: a small model learns one-digit facts and copying quickly and reliably, while a
// whole sum in one token is a lookup over every pair of operands it can only partly memorise.
// Nothing in the text depends on whether a model would get the problem right: every style of
// every problem is correct, and which style a training example gets is drawn independently of the
// problem (styledSolutions), so any link between a style's confidence and its accuracy is the
// model's own.

import { SeededRandom } from './seeded-random.ts';

export const ARITH_SOLUTION_STYLES = ['worked', 'columns', 'answer'] as const;
export type ArithSolutionStyle = (typeof ARITH_SOLUTION_STYLES)[number];

/** The words the styles add to the arith vocabulary (ARITH_VOCABULARY). */
export const SOLUTION_STYLE_WORDS: readonly string[] = ['borrow', 'carry'];

/** The column-by-column working of `x op y` (non-negative integers; for '-', x >= y), one line each. */
export function columnLines(x: number, op: '+' | '-', y: number): string[] {
  if (!(Number.isSafeInteger(x) && Number.isSafeInteger(y) && x >= 0 && y >= 0)) throw new RangeError(`columnLines: operands must be non-negative integers, got ${x} and ${y}`);
  if (op === '-' && y > x) throw new RangeError(`columnLines: ${x} - ${y} would be negative`);
  const xs = digitsFromUnits(x);
  const ys = digitsFromUnits(y);
  const columns = Math.max(xs.length, ys.length);
  const lines = [`${x} ${op} ${y}:`];
  let carry = 0; // the carry (addition) or borrow (subtraction) into this column, 0 or 1
  for (let i = 0; i < columns; i++) {
    const a = xs[i] ?? 0;
    const b = ys[i] ?? 0;
    const last = i === columns - 1;
    if (op === '+') {
      const sum = a + b + carry;
      // the last column writes its whole sum (it becomes the leading digits), so it carries nothing
      lines.push(`${a} + ${b}${carry ? ' + 1' : ''} = ${sum}${sum >= 10 && !last ? ', carry 1' : ''}.`);
      carry = sum >= 10 ? 1 : 0;
    } else {
      const left = `${a}${carry ? ' - 1' : ''} - ${b}`;
      const difference = a - carry - b;
      if (difference < 0) {
        lines.push(`${left}: borrow, 1${a}${carry ? ' - 1' : ''} - ${b} = ${difference + 10}.`);
        carry = 1;
      } else {
        lines.push(`${left} = ${difference}.`);
        carry = 0;
      }
    }
  }
  lines.push(`${x} ${op} ${y} = ${op === '+' ? x + y : x - y}.`);
  return lines;
}

function digitsFromUnits(n: number): number[] {
  return String(n).split('').reverse().map(Number);
}

const STEP_LINE = /(\d+) ([-+*]) (\d+) = (\d+)/;
const ANSWER_LINE = /^The answer is \\boxed\{(\d+)\}\.$/;

/** `worked` (a generator solution) rewritten in `style`. */
export function solutionInStyle(worked: string, style: ArithSolutionStyle): string {
  if (style === 'worked') return worked;
  const lines = worked.split('\n');
  const answer = ANSWER_LINE.exec(lines[lines.length - 1] ?? '');
  if (!answer) throw new Error(`solutionInStyle: the last line of a worked solution must be "The answer is \\boxed{n}.", got ${JSON.stringify(lines[lines.length - 1])}`);
  if (style === 'answer') return `\\boxed{${answer[1]}}.`;
  const out: string[] = [];
  for (const line of lines.slice(0, -1)) {
    const step = STEP_LINE.exec(line);
    if (!step) throw new Error(`solutionInStyle: not a step line: ${JSON.stringify(line)}`);
    const [, x, op, y, z] = step;
    out.push(...(op === '*' ? [`${x} * ${y} = ${z}.`] : columnLines(Number(x), op as '+' | '-', Number(y))));
  }
  out.push(lines[lines.length - 1]!);
  return out.join('\n');
}

/** How often each style is drawn: a share per style, summing to 1. */
export type StyleMix = Partial<Record<ArithSolutionStyle, number>>;

/** Parses "columns=0.3,answer=0.7" (or one style name alone, meaning all of it). */
export function parseStyleMix(text: string, field = 'style mix'): StyleMix {
  const mix: StyleMix = {};
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new Error(`${field}: expected style=share pairs such as "columns=0.3,answer=0.7", got an empty value`);
  for (const part of parts) {
    const [name, share] = part.includes('=') ? part.split('=').map((s) => s.trim()) : [part, parts.length === 1 ? '1' : undefined];
    if (!ARITH_SOLUTION_STYLES.includes(name as ArithSolutionStyle)) throw new Error(`${field}: unknown style ${JSON.stringify(name)}; styles are ${ARITH_SOLUTION_STYLES.join(', ')}`);
    const value = Number(share);
    if (share === undefined || share === '' || !Number.isFinite(value) || value < 0) throw new Error(`${field}: ${name} needs a share between 0 and 1, as in ${name}=0.5; got ${JSON.stringify(part)}`);
    if (name! in mix) throw new Error(`${field}: ${name} is given twice`);
    mix[name as ArithSolutionStyle] = value;
  }
  checkStyleMix(mix, field);
  return mix;
}

export function checkStyleMix(mix: StyleMix, field = 'style mix'): void {
  const total = Object.values(mix).reduce((a, b) => a + (b ?? 0), 0);
  if (Math.abs(total - 1) > 1e-9) throw new Error(`${field}: the shares must sum to 1, they sum to ${Number(total.toPrecision(12))}`);
}

/**
 * The style of each of `count` examples, drawn independently of the problems from `seed` (its own
 * stream, so the problems are the same whatever the mix).
 */
export function drawStyles(count: number, mix: StyleMix, seed: number): ArithSolutionStyle[] {
  checkStyleMix(mix);
  const rng = new SeededRandom((seed ^ 0x5bd1e995) >>> 0);
  const entries = ARITH_SOLUTION_STYLES.filter((s) => (mix[s] ?? 0) > 0).map((s) => [s, mix[s]!] as const);
  return Array.from({ length: count }, () => {
    let u = rng.next();
    for (const [style, share] of entries) {
      if (u < share) return style;
      u -= share;
    }
    return entries[entries.length - 1]![0];
  });
}

const COLUMN_HEADER = /^\d+ [-+] \d+:$/m;

/**
 * Which style a model's response is written in, read from its shape alone (not its numbers):
 * 'columns' if it works a sum column by column, 'worked' if it has one-line steps, 'answer' if it
 * opens with the boxed answer; undefined for anything else.
 */
export function solutionStyleOf(response: string): ArithSolutionStyle | undefined {
  if (COLUMN_HEADER.test(response)) return 'columns';
  if (STEP_LINE.test(response)) return 'worked';
  if (response.trimStart().startsWith('\\boxed{')) return 'answer';
  return undefined;
}

const ADD_COLUMN = /^(\d) \+ (\d)( \+ 1)? = (\d+)(, carry 1)?\.$/;
const SUBTRACT_COLUMN = /^(\d)( - 1)? - (\d) = (\d+)\.$/;
const BORROW_COLUMN = /^(\d)( - 1)? - (\d): borrow, 1(\d)( - 1)? - (\d) = (\d+)\.$/;

/**
 * The one-digit column facts of a columns-style response and how many of them are wrong (a sum or
 * difference that is not what it says it is, a carry written where none is due, a borrow where
 * none is needed), read line by line from the text alone. A policy that keeps the scratchpad's look while its
 * facts go wrong has learnt the form that makes it confident, not the arithmetic.
 */
export function columnFactErrors(response: string): { facts: number; wrong: number } {
  let facts = 0;
  let wrong = 0;
  for (const line of response.split('\n')) {
    const add = ADD_COLUMN.exec(line);
    const subtract = add ? null : SUBTRACT_COLUMN.exec(line);
    const borrow = add || subtract ? null : BORROW_COLUMN.exec(line);
    let right: boolean;
    if (add) {
      const sum = Number(add[1]) + Number(add[2]) + (add[3] ? 1 : 0);
      // "carry 1" is written after a column sum of 10 or more, except in the last column (which writes the whole sum)
      right = sum === Number(add[4]) && !(add[5] && sum < 10);
    } else if (subtract) {
      right = Number(subtract[1]) - (subtract[2] ? 1 : 0) - Number(subtract[3]) === Number(subtract[4]);
    } else if (borrow) {
      const [a, less, b] = [Number(borrow[1]), borrow[2] ? 1 : 0, Number(borrow[3])];
      right = a - less - b < 0 && 10 + a - less - b === Number(borrow[7]) && Number(borrow[4]) === a && Number(borrow[6]) === b;
    } else {
      continue;
    }
    facts += 1;
    if (!right) wrong += 1;
  }
  return { facts, wrong };
}
