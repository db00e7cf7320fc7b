// Answer normalisation for best-of-N voting (Kang et al. 2025, "Scalable Best-of-N Selection for
// Large Language Models via Self-Certainty"): votes are pooled per answer, so answers that differ
// only in presentation must become the same string before they are compared mathematically.
//
// normalizeAnswer, in this order:
//   1. doubled backslashes before a command (\\frac, from JSON-escaped text) become single; the
//      Unicode minus, dashes, √ × ÷ · π ∞ become their ASCII / LaTeX forms;
//   2. math delimiters ($, $$, \(, \), \[, \]) and currency (\$) go; \boxed{x} / \fbox{x} unwrap;
//   3. \left \right \big..., \displaystyle go; \dfrac \tfrac \cfrac -> \frac, arguments of \frac and
//      \sqrt in braces (\frac12 -> \frac{1}{2}), \binom{n}{k} -> n! / (k! (n-k)!);
//   4. thousands separators: 1{,}000, 1,\!000, 1\,000, 1,000 and 1 000 (a whole number) -> 1000;
//   5. \text{...}, \mbox, \mathrm, \textbf, \textnormal, \textit, \operatorname: unit words inside
//      (with a following ^2 or ^3) are dropped, anything else is kept without the command;
//   6. percent (\%, %), degrees (^\circ, ^{\circ}, °, \degree) and trailing unit words after a
//      number ("5 cm", "125 miles", "28 percent", "1000.99m²") are dropped;
//   7. spacing (\, \; \! \quad ~) becomes a space, then runs of spaces collapse;
//   8. trailing punctuation (. , ; :) goes; "x \in S" keeps S;
//   9. equations: in a chain a = b = c the last member is kept (c); "x = 3" keeps 3 when the left
//      side is a single variable (x, \theta, x_1, f(x), (p,q)) or constant and the right side
//      has no letters; a \approx b keeps b after a variable, a otherwise;
//  10. a lone choice letter in parentheses, (C), becomes C.
// The result is still LaTeX; equivalence.ts parses it.

import { findBoxes, splitTopLevel } from './latex-scan.ts';

const UNIT_WORDS = [
  'cm', 'mm', 'km', 'm', 'meters?', 'metres?', 'centimeters?', 'centimetres?', 'millimeters?', 'kilometers?',
  'in', 'inch', 'inches', 'ft', 'feet', 'foot', 'yd', 'yards?', 'mi', 'miles?',
  'g', 'kg', 'mg', 'grams?', 'kilograms?', 'lbs?', 'pounds?', 'oz', 'ounces?', 'tons?',
  's', 'sec', 'seconds?', 'min', 'minutes?', 'h', 'hr', 'hrs', 'hours?', 'days?', 'weeks?', 'months?', 'years?',
  'dollars?', 'cents?', 'euros?', 'yuan', 'usd',
  'percent', 'percentage', 'pct', 'degrees?', 'deg', 'radians?', 'rad',
  'units?', 'square', 'sq', 'cubic', 'l', 'liters?', 'litres?', 'ml', 'mph', 'kmh', 'km/h', 'm/s',
  'people', 'persons?', 'students?', 'points?', 'times', 'ways',
];
/** Unit words that are one letter; outside \text{} they count only after a space or with ^2/². */
const SHORT_UNITS = new Set(['m', 'g', 's', 'h', 'l']);
const UNIT_RE = new RegExp(`^(?:(?:${UNIT_WORDS.join('|')})\\b\\.?\\s*)+(?:\\^\\s*\\{?[23]\\}?|[²³])?$`, 'i');
const TRAILING_UNIT_RE = new RegExp(
  `([\\d}).])(\\s*)((?:(?:${UNIT_WORDS.join('|')})(?![a-zA-Z])\\s*)+)(\\^\\s*\\{?[23]\\}?|[²³])?\\s*$`,
  'i',
);
const UNICODE: Record<string, string> = { '√': '\\sqrt', '×': '\\times ', '÷': '\\div ', '·': '\\cdot ', 'π': '\\pi ', '∞': '\\infty ' };
const TEXT_COMMANDS = /\\(?:text|textrm|textnormal|textbf|textit|texttt|textsf|mbox|mathrm|mathbf|mathit|mathsf|mathtt|operatorname|hbox)\s*\{/g;

/** Whether `s` is only unit words (e.g. " cm", "square units", "miles^2"). */
export function isUnitPhrase(s: string): boolean {
  return UNIT_RE.test(s.trim());
}

/** The normalised form of an extracted answer (see the module header); '' when nothing is left. */
export function normalizeAnswer(answer: string): string {
  let s = answer.replace(/(?<!\\)\\\\(?=[a-zA-Z])/g, '\\');
  s = s
    .replace(/[−–]/g, '-')
    .replace(/√\s*(\d+(?:\.\d+)?)/g, '\\sqrt{$1}')
    .replace(/[√×÷·π∞]/g, (c) => UNICODE[c]!);
  s = s.replace(/\\\$/g, ' ').replace(/\\\(|\\\)|\\\[|\\\]/g, ' ').replace(/\$/g, ' ');
  s = unwrapBoxes(s);
  s = s
    .replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)\s*(\\[{}|]|[()[\]|.<>])/g, (_, d: string) => (d === '.' ? '' : d))
    .replace(/\\(?:displaystyle|textstyle|scriptstyle|limits)(?![a-zA-Z])/g, ' ')
    .replace(/\\[dtc]frac(?![a-zA-Z])/g, '\\frac')
    .replace(/\\?"/g, ' ');
  s = braceArguments(s);
  s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d{3})/g, '$1').replace(/(\d),\s*\\!\s*(?=\d{3})/g, '$1');
  s = s.replace(/(\d)(?:\\,|\\ |~|\\;|\\:)(?=\d{3}(?!\d))/g, '$1');
  s = replaceTextCommands(s);
  s = s
    .replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree(?![a-zA-Z])/g, ' ')
    .replace(/\\%|%/g, ' ');
  s = s
    .replace(/\\(?:quad|qquad|enspace|thinspace)(?![a-zA-Z])/g, ' ')
    .replace(/(?<!\\)\\[,;:! ]/g, ' ')
    .replace(/~/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  for (let previous = ''; previous !== s; ) {
    previous = s;
    s = s.replace(/^(?:[\s,;:]|\.(?!\d))+|[\s.,;:]+$/g, '').replace(/^\\quad|\\quad$/g, '').trim();
    s = stripTrailingUnits(s);
  }
  s = s.replace(/^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?\s*\\in(?![a-zA-Z])\s*/, '');
  s = simplifyRelations(s);
  s = joinThousands(s);
  const choice = /^\(([A-Za-z])\)$/.exec(s);
  if (choice) s = choice[1]!;
  return s.trim();
}

/**
 * \frac12 -> \frac{1}{2}, \frac{1}3 -> \frac{1}{3}, \sqrt3 -> \sqrt{3}: every argument in braces;
 * \binom{n}{k} (also \dbinom, \tbinom) -> \frac{(n)!}{(k)!((n)-(k))!}, which the engine evaluates.
 */
function braceArguments(s: string): string {
  let out = '';
  let i = 0;
  const command = /\\(frac|sqrt|[dt]?binom)(?![a-zA-Z])/g;
  for (let m = command.exec(s); m; m = command.exec(s)) {
    const name = m[1]!;
    let j = m.index + m[0].length;
    let index = '';
    if (name === 'sqrt') {
      const optional = /^\s*\[[^\]]*\]/.exec(s.slice(j));
      if (optional) {
        index = optional[0];
        j += optional[0].length;
      }
    }
    const args: string[] = [];
    for (let arg = 0; arg < (name === 'sqrt' ? 1 : 2); arg++) {
      const rest = s.slice(j);
      const lead = /^\s*/.exec(rest)![0].length;
      if (rest[lead] === '{') {
        let depth = 0;
        let k = lead;
        for (; k < rest.length; k++) {
          if (rest[k] === '{') depth++;
          else if (rest[k] === '}' && --depth === 0) break;
        }
        args.push(rest.slice(lead + 1, k));
        j += k + 1;
      } else {
        const token = /^(?:\\[a-zA-Z]+|[0-9a-zA-Z])/.exec(rest.slice(lead));
        if (!token) break;
        args.push(token[0]);
        j += lead + token[0].length;
      }
    }
    out += s.slice(i, m.index);
    if (name.endsWith('binom') && args.length === 2) {
      const [n, k] = args.map(braceArguments) as [string, string];
      out += `\\frac{(${n})!}{(${k})!((${n})-(${k}))!}`;
    } else out += `\\${name}${index}${args.map((a) => `{${a}}`).join('')}`;
    i = j;
    command.lastIndex = j;
  }
  return out + s.slice(i);
}

function unwrapBoxes(s: string): string {
  for (let boxes = findBoxes(s); boxes.length > 0; boxes = findBoxes(s)) {
    const box = boxes[boxes.length - 1]!;
    s = s.slice(0, box.start) + ' ' + box.content + ' ' + s.slice(box.end);
  }
  return s;
}

function replaceTextCommands(s: string): string {
  for (let m = TEXT_COMMANDS.exec(s); m; m = TEXT_COMMANDS.exec(s)) {
    const open = m.index + m[0].length - 1;
    let close = open + 1;
    for (let depth = 1; close < s.length; close++) {
      if (s[close] === '{') depth++;
      else if (s[close] === '}' && --depth === 0) break;
    }
    const inner = s.slice(open + 1, close);
    let after = s.slice(close + 1);
    let replacement = ` ${inner} `;
    if (isUnitPhrase(inner)) {
      replacement = ' ';
      after = after.replace(/^\s*(?:\^\s*\{?[23]\}?|[²³])/, '');
    } else if (m[0].startsWith('\\operatorname')) {
      replacement = `\\operatorname{${inner}}`;
    }
    s = s.slice(0, m.index) + replacement + after;
    TEXT_COMMANDS.lastIndex = m.index + (replacement.startsWith('\\operatorname') ? replacement.length : 0);
  }
  TEXT_COMMANDS.lastIndex = 0;
  return s;
}

function stripTrailingUnits(s: string): string {
  const m = TRAILING_UNIT_RE.exec(s);
  if (!m) return s;
  const words = m[3]!.trim().toLowerCase();
  if (SHORT_UNITS.has(words) && m[2] === '' && !m[4]) return s;
  const kept = s.slice(0, m.index + 1).trim();
  return kept === '' ? s : kept;
}

/** A single variable: x, \theta, x_1, f(x), AB, (p,q,r). */
export function isSimpleVariable(s: string): boolean {
  const t = s.trim();
  return (
    /^(?:[a-zA-Z]{1,3}|\\[a-zA-Z]+)(?:_\{?[a-zA-Z0-9]+\}?)?(?:\(\s*[a-zA-Z](?:\s*,\s*[a-zA-Z])*\s*\))?'*$/.test(t) ||
    /^\(\s*[a-zA-Z](?:_\{?\w+\}?)?(?:\s*,\s*[a-zA-Z](?:_\{?\w+\}?)?)+\s*\)$/.test(t)
  );
}

/** No letters once LaTeX commands (\frac, \pi, \sqrt ...) are set aside. */
export function isLetterFree(s: string): boolean {
  return !/[a-zA-Z]/.test(s.replace(/\\[a-zA-Z]+/g, ''));
}

const EQUALS = /(?<![<>!=\\])=(?!=)/;

function simplifyRelations(s: string): string {
  if (!EQUALS.test(s) && !/\\approx|≈/.test(s)) return s;
  let parts = splitTopLevel(s, ['=']).filter((p, i, all) => p !== '' || i === all.length - 1);
  // `=` inside <= >= != is not a separator: rejoin those pieces.
  parts = rejoinComparisons(parts);
  let kept = parts.length === 1 ? parts[0]! : s;
  if (parts.length >= 3) kept = parts[parts.length - 1]!;
  else if (parts.length === 2) {
    const [lhs, rhs] = parts as [string, string];
    if (rhs !== '' && isLetterFree(rhs) && (isSimpleVariable(lhs) || isLetterFree(lhs))) kept = rhs;
  }
  const approx = splitTopLevel(kept, ['\\approx', '≈']);
  if (approx.length >= 2) kept = isSimpleVariable(approx[0]!) ? approx[1]! : approx[0]!;
  return kept.trim();
}

function rejoinComparisons(parts: string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    const previous = out[out.length - 1];
    if (previous !== undefined && /[<>!]$/.test(previous)) out[out.length - 1] = `${previous}=${part}`;
    else out.push(part);
  }
  return out;
}

/** A whole number written with thousands separators (1,000 / 1 000 / 12,345.5) loses them. */
function joinThousands(s: string): string {
  const m = /^(-?)([1-9]\d{0,2})((?:,\d{3})+|(?: \d{3})+)(\.\d+)?$/.exec(s);
  return m ? `${m[1]}${m[2]}${m[3]!.replace(/[, ]/g, '')}${m[4] ?? ''}` : s;
}
