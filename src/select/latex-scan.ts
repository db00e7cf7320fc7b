// Small scanners over LaTeX-flavoured model output, shared by answer extraction and normalisation
// (best-of-N selection, Kang et al. 2025): balanced-brace groups such as \boxed{...} with nested
// and escaped braces, math spans ($...$, $$...$$, \(...\), \[...\]), and splitting an expression
// at top-level separators (outside every (), [], {} and \{\}; an interval such as [0,1) counts as
// one bracket pair).

/** A piece of the text: its content and where the whole construct starts and ends. */
export interface Span {
  content: string;
  start: number;
  end: number;
}

/** Whether the character at `i` is escaped by an odd run of backslashes before it. */
export function isEscaped(text: string, i: number): boolean {
  let slashes = 0;
  for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) slashes++;
  return slashes % 2 === 1;
}

/**
 * Index of the `}` closing the `{` at `open`, skipping escaped braces (\{ \}); -1 when unclosed.
 */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if ((c !== '{' && c !== '}') || isEscaped(text, i)) continue;
    depth += c === '{' ? 1 : -1;
    if (depth === 0) return i;
  }
  return -1;
}

/**
 * Every `\boxed{...}` and `\fbox{...}` (also `\boxed {` with spaces), in order of appearance.
 * An unclosed box takes the rest of the text.
 */
export function findBoxes(text: string): Span[] {
  const boxes: Span[] = [];
  const pattern = /\\(?:boxed|fbox)\s*\{/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const open = m.index + m[0].length - 1;
    const close = matchBrace(text, open);
    const end = close === -1 ? text.length : close + 1;
    boxes.push({ content: text.slice(open + 1, close === -1 ? text.length : close), start: m.index, end });
    pattern.lastIndex = end;
  }
  return boxes;
}

/**
 * Math spans in order: `$$...$$` and `\[...\]` (may span lines), `$...$` and `\(...\)` (one line,
 * as inline math is written). Escaped dollars (\$) are currency, not delimiters.
 */
export function findMathSpans(text: string): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '$' && !isEscaped(text, i)) {
      const display = text[i + 1] === '$';
      const delimiter = display ? '$$' : '$';
      const close = findUnescaped(text, delimiter, i + delimiter.length, !display);
      if (close !== -1) {
        spans.push({ content: text.slice(i + delimiter.length, close), start: i, end: close + delimiter.length });
        i = close + delimiter.length;
        continue;
      }
      i += delimiter.length;
      continue;
    }
    if (c === '\\' && (text[i + 1] === '(' || text[i + 1] === '[') && !isEscaped(text, i)) {
      const closing = text[i + 1] === '(' ? '\\)' : '\\]';
      const close = findUnescaped(text, closing, i + 2, closing === '\\)');
      if (close !== -1) {
        spans.push({ content: text.slice(i + 2, close), start: i, end: close + 2 });
        i = close + 2;
        continue;
      }
    }
    i++;
  }
  return spans;
}

function findUnescaped(text: string, needle: string, from: number, singleLine: boolean): number {
  for (let j = from; j <= text.length - needle.length; j++) {
    if (singleLine && text[j] === '\n') return -1;
    if (text.startsWith(needle, j) && !isEscaped(text, j)) {
      // `$` directly followed by `$` inside inline math would open display math: not a close.
      if (needle === '$' && text[j + 1] === '$') return -1;
      return j;
    }
  }
  return -1;
}

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);

/**
 * Splits at top level on any of `separators` (plain strings, or LaTeX commands such as `\cup`,
 * which then must not continue with a letter; earlier separators win, so list longer ones first).
 * Brackets of any kind nest; `\{ \}` count as brackets too. Returns the trimmed pieces (one piece
 * when no separator is at top level).
 */
export function splitTopLevel(text: string, separators: readonly string[]): string[] {
  return splitTopLevelWith(text, separators).pieces;
}

/** splitTopLevel, also returning which separator stood between each pair of pieces. */
export function splitTopLevelWith(text: string, separators: readonly string[]): { pieces: string[]; separators: string[] } {
  const pieces: string[] = [];
  const found: string[] = [];
  let depth = 0;
  let last = 0;
  let i = 0;
  outer: while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && (text[i + 1] === '{' || text[i + 1] === '}')) {
      depth = Math.max(0, depth + (text[i + 1] === '{' ? 1 : -1));
      i += 2;
      continue;
    }
    if (OPENERS.has(c)) depth++;
    else if (CLOSERS.has(c)) depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      for (const sep of separators) {
        if (!text.startsWith(sep, i)) continue;
        if (/^\\[a-zA-Z]+$/.test(sep) && /[a-zA-Z]/.test(text[i + sep.length] ?? '')) continue;
        pieces.push(text.slice(last, i).trim());
        found.push(sep);
        i += sep.length;
        last = i;
        continue outer;
      }
    }
    if (c === '\\') {
      // Skip a whole command name so that separators are not found inside it.
      const m = /^\\[a-zA-Z]+/.exec(text.slice(i, i + 40));
      i += m ? m[0].length : 2;
      continue;
    }
    i++;
  }
  pieces.push(text.slice(last).trim());
  return { pieces, separators: found };
}

/**
 * When `text` is wholly one bracket pair (its first bracket closes at its last character), the
 * opening and closing characters and the inside; else undefined. Brackets may mix, as in [0,1).
 */
export function outerBrackets(text: string): { open: string; close: string; inner: string } | undefined {
  const open = text[0];
  if (open !== '(' && open !== '[') return undefined;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && (text[i + 1] === '{' || text[i + 1] === '}')) {
      depth += text[i + 1] === '{' ? 1 : -1;
      i++;
      continue;
    }
    if (OPENERS.has(c)) depth++;
    else if (CLOSERS.has(c)) {
      depth--;
      if (depth === 0) {
        if (i !== text.length - 1 || c === '}') return undefined;
        return { open, close: c, inner: text.slice(1, -1) };
      }
    }
  }
  return undefined;
}
