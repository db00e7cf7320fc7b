// The built-in arith task as the commands use it: --levels, and the held-out problems that `bon`
// and `demo` evaluate on (the test split, never trained on; the same problems for the same count).

import { ARITH_LEVELS, arithQaItems, type ArithLevel } from '../data/arith.ts';
import type { QaItem } from '../data/qa.ts';

/** "1,1,2" -> [1, 1, 2]; a level named twice is drawn twice as often. */
export function parseArithLevels(text: string, flag = '--levels'): ArithLevel[] {
  const levels = text.split(',').map((part) => Number(part.trim()));
  if (levels.length === 0 || levels.some((level) => !(ARITH_LEVELS as readonly number[]).includes(level))) {
    throw new Error(`${flag} must list levels ${ARITH_LEVELS.join(', ')} separated by commas, got "${text}"`);
  }
  return levels as ArithLevel[];
}

/** The held-out problems: `count` of the test split at these levels. */
export function heldOutArithItems(count: number, levels: readonly ArithLevel[]): QaItem[] {
  return arithQaItems({ split: 'test', count, levels, seed: 1 });
}
