// Mathematical answer equivalence for best-of-N voting (Kang et al. 2025, "Scalable Best-of-N
// Selection for Large Language Models via Self-Certainty"): Borda, weighted and majority votes are
// pooled per answer, so 1/2, 0.5 and \frac{1}{2} must fall into one group.
//
// Each answer is normalised (normalize.ts), then parsed once into a value:
//   - \cup-unions, matrices (pmatrix, bmatrix, array ...), sets \{a, b\}, bracket groups (tuples
//     and intervals: (1,2), [0,1), (-\infty, 3]), bare lists "1, -2" / "12 and 13", and a \pm b
//     (the list of a + b and a - b), whose items are values in turn;
//   - relations (=, <, \le, >, \ge, \ne), kept as (left - right) with the operator;
//   - anything else through @cortex-js/compute-engine (LaTeX parsing): a closed expression becomes
//     its numeric value (real, imaginary); one with free variables keeps its canonical MathJSON and
//     its values at 4 fixed points (each variable gets a value in [0.3, 2) from a hash of its name);
//     what the engine cannot parse, or a word answer ("Evelyn", "yes"), stays normalised text.
// Comparison: numbers agree within a relative 1e-6; expressions when their MathJSON or all their
// sampled values agree; relations of the same kind when left - right are proportional (a positive
// factor for inequalities: -x > -1 is x < 1; any non-zero factor for = and \ne: 2x+4y-3=0 is
// y = -x/2 + 3/4), and "x = v" (a single variable on the left) equals v; tuples and intervals
// item by item with the same brackets; sets, lists and unions as multisets; a bare list equals a
// parenthesised tuple item by item ("1, 3" is (1, 3) but not (3, 1)); text as text (words
// case-insensitively). Equal normalised strings are always equivalent.
//
// groupAnswers parses each distinct answer once (a bounded cache) and compares each answer with
// one representative per group, so N = 64 answers cost at most 64 parses and cheap comparisons.

import { ComputeEngine } from '@cortex-js/compute-engine';
import { outerBrackets, splitTopLevel, splitTopLevelWith } from './latex-scan.ts';
import { isSimpleVariable, normalizeAnswer } from './normalize.ts';

type RelationOp = '=' | '<' | '<=' | '!=';

type Value =
  | { kind: 'number'; re: number; im: number }
  | { kind: 'expr'; key: string; samples: number[] | undefined }
  | { kind: 'relation'; op: RelationOp; key: string; samples: number[] | undefined; variableLhs: boolean; rhs: Value }
  | { kind: 'group'; open: string; close: string; items: Value[] }
  | { kind: 'list' | 'set' | 'union'; items: Value[] }
  | { kind: 'matrix'; rows: Value[][] }
  | { kind: 'text'; text: string };

const RELATIONS: Record<string, { op: RelationOp; swap: boolean }> = {
  '\\leqslant': { op: '<=', swap: false },
  '\\geqslant': { op: '<=', swap: true },
  '\\leq': { op: '<=', swap: false },
  '\\geq': { op: '<=', swap: true },
  '\\neq': { op: '!=', swap: false },
  '\\le': { op: '<=', swap: false },
  '\\ge': { op: '<=', swap: true },
  '\\ne': { op: '!=', swap: false },
  '\\lt': { op: '<', swap: false },
  '\\gt': { op: '<', swap: true },
  '<=': { op: '<=', swap: false },
  '>=': { op: '<=', swap: true },
  '!=': { op: '!=', swap: false },
  '≤': { op: '<=', swap: false },
  '≥': { op: '<=', swap: true },
  '≠': { op: '!=', swap: false },
  '<': { op: '<', swap: false },
  '>': { op: '<', swap: true },
  '=': { op: '=', swap: false },
};
const RELATION_TOKENS = Object.keys(RELATIONS);
const SAMPLE_POINTS = 4;
const RELATIVE_TOLERANCE = 1e-6;
const CACHE_LIMIT = 4096;

// The package's declaration files re-export through extensionless relative paths, which NodeNext
// resolution does not follow, so its types arrive as `any`. This is the part of the API used here,
// as declared in dist/types/compute-engine/boxed-expression/public.d.ts (version 0.27.0).
interface BoxedExpression {
  readonly isValid: boolean;
  readonly json: unknown;
  readonly freeVariables: readonly string[];
  readonly isNumberLiteral: boolean;
  readonly re: number;
  readonly im: number;
  N(): BoxedExpression;
  subs(substitution: Record<string, BoxedExpression>): BoxedExpression;
}
interface Engine {
  parse(latex: string): BoxedExpression;
  number(value: number): BoxedExpression;
  pushScope(): unknown;
  popScope(): unknown;
}

let engine: Engine | undefined;
const cache = new Map<string, Value>();

/** Whether two answers (raw or extracted) are mathematically the same; false when either is empty. */
export function answersEquivalent(a: string, b: string): boolean {
  const [na, nb] = [normalizeAnswer(a), normalizeAnswer(b)];
  if (na === '' || nb === '') return false;
  return squash(na) === squash(nb) || equalValues(parsedValue(na), parsedValue(nb));
}

/**
 * Equivalence-class id per answer, numbered 0, 1, ... in order of first appearance; -1 where the
 * answer is undefined or normalises to nothing. An answer joins the first group whose first
 * member it equals.
 */
export function groupAnswers(answers: readonly (string | undefined)[]): number[] {
  const representatives: { squashed: string; value: Value }[] = [];
  return answers.map((answer) => {
    if (answer === undefined) return -1;
    if (typeof answer !== 'string') throw new TypeError(`groupAnswers: answers must be strings or undefined, got ${typeof answer}`);
    const normalised = normalizeAnswer(answer);
    if (normalised === '') return -1;
    const squashed = squash(normalised);
    const value = parsedValue(normalised);
    const found = representatives.findIndex((r) => r.squashed === squashed || equalValues(r.value, value));
    if (found !== -1) return found;
    representatives.push({ squashed, value });
    return representatives.length - 1;
  });
}

function squash(s: string): string {
  return s.replace(/\s+/g, '');
}

function parsedValue(normalised: string): Value {
  let value = cache.get(normalised);
  if (value === undefined) {
    value = parseValue(normalised, 0);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(normalised, value);
  }
  return value;
}

function parseValue(s: string, depth: number): Value {
  s = s.trim();
  if (depth > 8 || s.length > 1000) return { kind: 'text', text: s };
  const union = splitTopLevel(s, ['\\cup', '∪']);
  if (union.length > 1) return { kind: 'union', items: union.map((p) => parseValue(p, depth + 1)) };
  const matrix = parseMatrix(s, depth);
  if (matrix) return matrix;
  const set = setContent(s);
  if (set !== undefined) return { kind: 'set', items: parseItems(set, depth) };
  if (s.startsWith('{') && wholeBraces(s)) return parseValue(s.slice(1, -1), depth + 1);
  const bracket = outerBrackets(s);
  if (bracket && splitTopLevel(bracket.inner, [',']).length > 1) {
    return { kind: 'group', open: bracket.open, close: bracket.close, items: splitTopLevel(bracket.inner, [',']).map((p) => parseValue(p, depth + 1)) };
  }
  const items = parseItems(s, depth);
  if (items.length > 1) return { kind: 'list', items };
  return items[0] ?? { kind: 'text', text: s };
}

/** The inside of \{ ... \} when the first \{ closes at the very end; else undefined. */
function setContent(s: string): string | undefined {
  if (!s.startsWith('\\{') || !s.endsWith('\\}')) return undefined;
  let depth = 0;
  for (let i = 0; i < s.length - 1; i++) {
    if (s[i] !== '\\' || (s[i + 1] !== '{' && s[i + 1] !== '}')) continue;
    depth += s[i + 1] === '{' ? 1 : -1;
    if (depth === 0) return i === s.length - 2 ? s.slice(2, -2) : undefined;
    i++;
  }
  return undefined;
}

/** Whether the first { of `s` closes at its last character. */
function wholeBraces(s: string): boolean {
  let level = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{' && s[i - 1] !== '\\') level++;
    else if (s[i] === '}' && s[i - 1] !== '\\' && --level === 0) return i === s.length - 1;
  }
  return false;
}

/** Items of a comma / "and" / "or" list, each \pm expanded into its two values. */
function parseItems(s: string, depth: number): Value[] {
  const pieces = splitTopLevel(s, [',', ';', ' and ', ' or ']).filter((p) => p !== '');
  return pieces.flatMap((piece) => {
    const pm = splitTopLevel(piece, ['\\pm', '\\mp', '±']);
    if (pm.length === 2) {
      const [a, b] = pm as [string, string];
      const plus = a === '' ? `${b}` : `${a}+(${b})`;
      const minus = a === '' ? `-(${b})` : `${a}-(${b})`;
      return [parseScalar(plus, depth), parseScalar(minus, depth)];
    }
    if (pieces.length > 1) return [parseValue(piece, depth + 1)];
    return [parseScalar(piece, depth)];
  });
}

function parseMatrix(s: string, depth: number): Value | undefined {
  const inner = outerBrackets(s)?.inner.trim() ?? s;
  const m = /^\\begin\{([pbvBV]?matrix|array)\}(.*)\\end\{\1\}$/s.exec(inner);
  if (!m) return undefined;
  let body = m[2]!;
  if (m[1] === 'array') body = body.replace(/^\s*\{[^{}]*\}/, '');
  const rows = body
    .split(/\\\\/)
    .map((row) => row.replace(/\\hline/g, '').trim())
    .filter((row) => row !== '')
    .map((row) => row.split('&').map((cell) => parseValue(cell, depth + 1)));
  return { kind: 'matrix', rows };
}

/** A single expression or relation. */
function parseScalar(s: string, depth: number): Value {
  const { pieces, separators } = splitTopLevelWith(s, RELATION_TOKENS);
  if (separators.length === 1 && pieces[0] !== '' && pieces[1] !== '') {
    const { op, swap } = RELATIONS[separators[0]!]!;
    const [lhs, rhs] = (swap ? [pieces[1], pieces[0]] : pieces) as [string, string];
    // Compared through left - right; a closed difference (5 < 7) has the same value everywhere.
    const difference = parseExpression(`(${lhs})-(${rhs})`);
    let samples: number[] | undefined;
    if (difference.kind === 'expr') samples = difference.samples;
    else if (difference.kind === 'number') samples = Array.from({ length: 2 * SAMPLE_POINTS }, (_, i) => (i % 2 ? difference.im : difference.re));
    return {
      kind: 'relation',
      op,
      key: difference.kind === 'expr' ? difference.key : JSON.stringify(difference),
      samples,
      variableLhs: op === '=' && isSimpleVariable(pieces[0]!),
      rhs: parseValue(pieces[1]!, depth + 1),
    };
  }
  if (separators.length > 1) return { kind: 'text', text: squash(s) };
  return parseExpression(s);
}

function parseExpression(s: string): Value {
  // Words ("Evelyn", "yes", "no solution") are text: the engine would read them as products.
  if (/^[A-Za-z][A-Za-z\s'-]*$/.test(s) && /[A-Za-z]{2}/.test(s)) return { kind: 'text', text: s.toLowerCase().replace(/\s+/g, ' ') };
  engine ??= new ComputeEngine() as Engine;
  // Parsing declares the symbols it meets (x_1 makes x a list, and a later x^2 invalid): each
  // answer gets its own scope so that its value does not depend on what was parsed before.
  engine.pushScope();
  try {
    const expr = engine.parse(s);
    if (!expr.isValid) return { kind: 'text', text: squash(s) };
    const key = JSON.stringify(expr.json);
    const variables = expr.freeVariables;
    if (variables.length === 0) {
      const n = expr.N();
      if (n.isNumberLiteral && !Number.isNaN(n.re)) return { kind: 'number', re: n.re, im: Number.isNaN(n.im) ? 0 : n.im };
      return { kind: 'expr', key, samples: undefined };
    }
    return { kind: 'expr', key, samples: sample(engine, expr, variables) };
  } catch {
    return { kind: 'text', text: squash(s) };
  } finally {
    engine.popScope();
  }
}

function sample(ce: Engine, expr: BoxedExpression, variables: readonly string[]): number[] | undefined {
  const samples: number[] = [];
  for (let k = 0; k < SAMPLE_POINTS; k++) {
    const substitution = Object.fromEntries(variables.map((v) => [v, ce.number(pointFor(v, k))]));
    const n = expr.subs(substitution).N();
    if (!n.isNumberLiteral || !Number.isFinite(n.re) || !Number.isFinite(n.im)) return undefined;
    samples.push(n.re, n.im);
  }
  return samples;
}

/** A value in [0.3, 2) for variable `name` at sample point k, fixed by a hash of the name. */
function pointFor(name: string, k: number): number {
  let h = 2166136261 ^ k;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  h ^= h >>> 13;
  return 0.3 + 1.7 * ((h >>> 0) / 4294967296);
}

function close(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) <= 1e-12;
}

function closeSamples(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => close(x, b[i]!));
}

/** a = c * b for one constant c (c > 0 when `positive`, c != 0 always), on every sample. */
function proportional(a: readonly number[], b: readonly number[], positive: boolean): boolean {
  if (a.length !== b.length || a.some((x, i) => i % 2 === 1 && x !== 0) || b.some((x, i) => i % 2 === 1 && x !== 0)) return false;
  let pivot = 0;
  for (let i = 0; i < b.length; i += 2) if (Math.abs(b[i]!) > Math.abs(b[pivot]!)) pivot = i;
  if (Math.abs(b[pivot]!) < 1e-12) return a.every((x) => Math.abs(x) < 1e-12);
  const c = a[pivot]! / b[pivot]!;
  if (!Number.isFinite(c) || Math.abs(c) < 1e-12 || (positive && c < 0)) return false;
  const scale = Math.max(...a.map(Math.abs));
  return a.every((x, i) => i % 2 === 1 || Math.abs(x - c * b[i]!) <= RELATIVE_TOLERANCE * Math.max(Math.abs(x), scale * 1e-3));
}

function equalValues(a: Value, b: Value): boolean {
  if (a.kind === 'relation' && b.kind !== 'relation') return a.op === '=' && a.variableLhs && equalValues(a.rhs, b);
  if (b.kind === 'relation' && a.kind !== 'relation') return equalValues(b, a);
  if (a.kind === 'list' && b.kind === 'group') return b.open === '(' && b.close === ')' && ordered(a.items, b.items);
  if (a.kind === 'group' && b.kind === 'list') return equalValues(b, a);
  if ((a.kind === 'list' && b.kind === 'set') || (a.kind === 'set' && b.kind === 'list')) return unordered(a.items, b.items);
  switch (a.kind) {
    case 'number':
      return b.kind === 'number' && close(a.re, b.re) && close(a.im, b.im);
    case 'expr':
      return b.kind === 'expr' && (a.key === b.key || (a.samples !== undefined && b.samples !== undefined && closeSamples(a.samples, b.samples)));
    case 'relation':
      if (b.kind !== 'relation' || a.op !== b.op) return false;
      return a.key === b.key || (a.samples !== undefined && b.samples !== undefined && proportional(a.samples, b.samples, a.op === '<' || a.op === '<='));
    case 'group':
      return b.kind === 'group' && a.open === b.open && a.close === b.close && ordered(a.items, b.items);
    case 'list':
    case 'set':
    case 'union':
      return b.kind === a.kind && unordered(a.items, b.items);
    case 'matrix':
      return b.kind === 'matrix' && a.rows.length === b.rows.length && a.rows.every((row, i) => ordered(row, b.rows[i]!));
    case 'text':
      return b.kind === 'text' && a.text === b.text;
  }
}

function ordered(a: readonly Value[], b: readonly Value[]): boolean {
  return a.length === b.length && a.every((x, i) => equalValues(x, b[i]!));
}

function unordered(a: readonly Value[], b: readonly Value[]): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  return a.every((x) => {
    const j = b.findIndex((y, k) => !used[k] && equalValues(x, y));
    if (j === -1) return false;
    used[j] = true;
    return true;
  });
}
