// Best-of-N selection by self-certainty (Kang et al. 2025, "Scalable Best-of-N Selection for Large
// Language Models via Self-Certainty"): answer extraction, answer equivalence, and the selection rules.

export { extractAnswer, plainNumber, type AnswerFormat, type ExtractOptions } from './extract.ts';
export { normalizeAnswer } from './normalize.ts';
export { answersEquivalent, groupAnswers } from './equivalence.ts';
export {
  selectBestOfN,
  defaultBordaPower,
  SELECTION_METHODS,
  type AnswerVotes,
  type ScoredResponse,
  type Selection,
  type SelectionMethod,
  type SelectionRule,
} from './rules.ts';
