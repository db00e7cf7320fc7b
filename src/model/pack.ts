// Packing (prompt, completion) pairs into one left-padded batch whose completions end at the last
// column: row b is [padding, prompt_b, completion_b]. The last R = max completion length columns
// then hold every completion (right-aligned), and hidden state t predicts token t + 1, so the
// columns [L - R - 1, L - 1) predict the completion columns [L - R, L).

export interface PromptCompletion {
  prompt: readonly number[];
  completion: readonly number[];
}

export interface PackedBatch {
  /** [B][L] token ids */
  inputIds: number[][];
  /** [B][L] 1 for real tokens, 0 for padding */
  attentionMask: number[][];
  /** [B][R] 1 where the completion column holds a completion token of that row */
  completionMask: number[][];
  /** L */
  length: number;
  /** R (at least 1, so an empty completion still has a column) */
  completionWidth: number;
}

export function packPromptCompletions(pairs: readonly PromptCompletion[], padId: number): PackedBatch {
  if (pairs.length === 0) throw new Error('packPromptCompletions: no pairs');
  pairs.forEach((p, i) => {
    if (p.prompt.length === 0) throw new Error(`pair ${i} has an empty prompt; the first completion token needs a position to be predicted from`);
  });
  const completionWidth = Math.max(1, ...pairs.map((p) => p.completion.length));
  const length = Math.max(...pairs.map((p) => p.prompt.length + p.completion.length), completionWidth + 1);
  const inputIds = pairs.map((p) => {
    const sequence = [...p.prompt, ...p.completion];
    return [...Array<number>(length - sequence.length).fill(padId), ...sequence];
  });
  const attentionMask = pairs.map((p) => {
    const real = p.prompt.length + p.completion.length;
    return Array.from({ length }, (_, t) => (t >= length - real ? 1 : 0));
  });
  const completionMask = pairs.map((p) => Array.from({ length: completionWidth }, (_, t) => (t >= completionWidth - p.completion.length ? 1 : 0)));
  return { inputIds, attentionMask, completionMask, length, completionWidth };
}
