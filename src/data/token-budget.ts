// Whether each row fits the model's context, checked before any model work: the row's tokens as
// the command will feed them (the prompt with its format applied: chat template, system prompt,
// instruction; for sft the completion too) plus the tokens the command generates after it (bon's
// --max-new-tokens, train's --max-completion-length) must fit max_position_embeddings.
//
// A text far longer than the room left is refused from the tokens of a prefix, so a huge cell costs
// the tokenization of about CHARS_PER_TOKEN x room characters, not of all of it. Tokens rarely span
// more than a few characters; where they span more (long runs of one character), the prefix holds
// fewer tokens than the room and the whole text is tokenized as usual.

import { BadRows } from './bad-rows.ts';

const CHARS_PER_TOKEN = 32;

export interface TokenBudget {
  /** the model's positions (max_position_embeddings) */
  contextLength: number;
  /** tokens generated after the prompt; 0 when nothing is */
  reserved: number;
  /** what reserves them, for messages, e.g. "--max-new-tokens 512" */
  reservedBy?: string;
  /** the model folder, for messages */
  model: string;
}

/** One part of a row that becomes tokens: its field, its raw text, and its ids as fed to the model. */
export interface TokenPart {
  field: string;
  text: string;
  ids: () => number[];
}

/** Tokens a row may hold: the context less what generation reserves; throws when that leaves none. */
export function tokenRoom(budget: TokenBudget): number {
  const room = budget.contextLength - budget.reserved;
  if (room < 1) throw new Error(`${budget.reservedBy ?? `${budget.reserved} new tokens`} leave no room for a prompt in ${budget.model}'s ${budget.contextLength} positions (max_position_embeddings); lower it`);
  return room;
}

/** The first `chars` characters of `text`, cut back to a whitespace so that no word is split. */
function prefixAtSpace(text: string, chars: number): string {
  const cut = text.lastIndexOf(' ', chars);
  return text.slice(0, cut > chars / 2 ? cut : chars);
}

function limitText(budget: TokenBudget, room: number): string {
  const less = budget.reserved > 0 ? ` less ${budget.reservedBy ?? `${budget.reserved} new tokens`}` : '';
  return `at most ${room} tokens (${budget.model} has ${budget.contextLength} positions, max_position_embeddings${less})`;
}

/**
 * The ids of each part of a row, or what is wrong (`field: expected ..., found ...`). `encode` is
 * the raw tokenizer, used for the prefix check of overlong texts.
 */
export function fitTokens(parts: readonly TokenPart[], budget: TokenBudget, encode: (text: string) => number[]): { ids: number[][] } | { problem: string } {
  const room = tokenRoom(budget);
  const fields = parts.map((p) => p.field).join(' + ');
  const ids: number[][] = [];
  let used = 0;
  for (const part of parts) {
    const left = room - used;
    const bound = CHARS_PER_TOKEN * (left + 1);
    if (part.text.length > bound) {
      const prefix = prefixAtSpace(part.text, bound);
      const count = encode(prefix).length;
      if (count > left) return { problem: `${fields}: expected ${limitText(budget, room)}, found at least ${used + count} (${count} in the first ${prefix.length} of the ${part.text.length} characters of ${part.field})` };
    }
    const partIds = part.ids();
    ids.push(partIds);
    used += partIds.length;
    if (used > room) break; // the parts after it cannot fit: they stay untokenized
  }
  if (used > room) {
    const partial = ids.length < parts.length;
    const split = parts.length > 1 ? ` (${ids.map((partIds, i) => `${parts[i]!.field} ${partIds.length}`).join(', ')}${partial ? ' alone' : ''})` : ' with the prompt format applied';
    return { problem: `${fields}: expected ${limitText(budget, room)}, found ${partial ? 'at least ' : ''}${used}${split}` };
  }
  return { ids };
}

/** The items that fit, each with its parts' ids; a row that does not goes to `bad`. */
export function checkTokenLengths<T extends { where: string }>(
  items: readonly T[],
  partsOf: (item: T) => TokenPart[],
  budget: TokenBudget,
  encode: (text: string) => number[],
  bad = new BadRows(),
): { item: T; ids: number[][] }[] {
  tokenRoom(budget); // fail once, not per row, when nothing can fit
  const fitting: { item: T; ids: number[][] }[] = [];
  for (const item of items) {
    const fit = fitTokens(partsOf(item), budget, encode);
    if ('problem' in fit) bad.add(`${item.where}: ${fit.problem}`);
    else fitting.push({ item, ids: fit.ids });
  }
  return fitting;
}
