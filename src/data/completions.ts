// (prompt, completion) text pairs for supervised fine-tuning, from dataset rows {"prompt": ...,
// "completion": ...} (JSONL or Parquet), each field checked by the same rule as every prompt
// (data/row-fields.ts). The prompt is the question: it is formatted later, as training formats it.

import { BadRows } from './bad-rows.ts';
import { textField } from './row-fields.ts';
import type { DatasetRow } from './read-rows.ts';

export interface PromptCompletionText {
  prompt: string;
  completion: string;
  /** `file:line` of the row (absent for built-in examples) */
  where?: string;
}

export function promptCompletionsFromRows(rows: readonly DatasetRow[], source: string, bad = new BadRows()): PromptCompletionText[] {
  const pairs: PromptCompletionText[] = [];
  for (const { row, where } of rows) {
    const prompt = textField(row, 'prompt');
    const completion = textField(row, 'completion');
    if ('problem' in prompt) bad.add(`${where}: ${prompt.problem}`);
    else if ('problem' in completion) bad.add(`${where}: ${completion.problem}`);
    else pairs.push({ prompt: prompt.text, completion: completion.text, where });
  }
  if (pairs.length === 0) throw new Error(bad.count > 0 ? `${source} has no usable rows (${bad.summary(source)})` : `${source} has no rows; expected {"prompt", "completion"} objects`);
  return pairs;
}
