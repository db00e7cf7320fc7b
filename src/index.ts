// The library: `import { loadModel, Tokenizer, generate, ... } from 'intuitor'`. Subpaths hold the
// rest of each layer: 'intuitor/torch' (tensors, autograd, optimizers), 'intuitor/select',
// 'intuitor/tokenizer', 'intuitor/serve'.

// Models: Hugging Face folders (or ORG/NAME from the local hub cache) in and out.
export { loadModel, saveModel, type LoadModelOptions, type SaveModelOptions } from './model/load.ts';
export { loadModelConfig, parseModelConfig, type ModelConfig } from './model/config.ts';
export { CausalLM } from './model/causal-lm.ts';
export { DEFAULT_MODEL_DIR } from './package-paths.ts';

// Tokenizers and chat templates.
export { Tokenizer, type ChatMessage } from './tokenizer/index.ts';

// Generation with per-token statistics, and self-certainty of given responses.
export { generate, type GenerateOptions, type GeneratedSequence } from './generate/generate.ts';
export { scoreResponses, type ResponseScores, type ScoredPair, type ScoreOptions } from './certainty/response-scores.ts';

// Best-of-N selection and answers.
export { selectBestOfN, extractAnswer, answersEquivalent, SELECTION_METHODS, type ScoredResponse, type Selection, type SelectionMethod, type SelectionRule } from './select/index.ts';

// Training: Intuitor (self-certainty reward) and GRPO.
export { train, type TrainerInputs, type StepMetrics } from './rl/trainer.ts';
export { resolveGrpoConfig, type GrpoConfig } from './rl/config.ts';
export { promptIds, type PromptFormat } from './rl/prompt.ts';
export { arithQaItems, arithProblems } from './data/arith.ts';
export type { QaItem } from './data/qa.ts';

// The tensor engine, as a namespace (also 'intuitor/torch').
export * as torch from './torch/index.ts';
