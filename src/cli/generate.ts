// `intuitor generate`: sample continuations of a prompt from a model folder, streaming the text.

import type { Writable } from 'node:stream';
import { loadModel } from '../model/load.ts';
import { generate, type GeneratedSequence } from '../generate/generate.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';
import { checkDtypeDevice, deviceFlags } from '../config/device-flags.ts';
import { loadModelConfig } from '../model/config.ts';
import { tokenRoom } from '../data/token-budget.ts';
import { promptText } from '../rl/prompt.ts';

export const generateFlags = {
  model: { type: 'string', required: true, help: 'model folder in Hugging Face layout (config.json, safetensors, tokenizer.json)' },
  prompt: { type: 'string', required: true, help: 'the prompt' },
  chat: { type: 'boolean', help: "format the prompt as a user message with the model's chat template" },
  system: { type: 'string', help: 'a system message (needs --chat)' },
  instruction: { type: 'string', default: '', help: 'appended to the prompt after a newline, as train and bon append it to each question' },
  n: { type: 'int', default: 1, min: 1, max: 64, help: 'how many continuations to sample' },
  temperature: { type: 'number', default: 1, min: 0, help: 'sampling temperature; 0 is greedy' },
  topP: { type: 'number', default: 1, min: 0, exclusiveMin: true, max: 1, help: 'nucleus sampling: keep the most likely tokens up to this total probability' },
  topK: { type: 'int', default: 0, min: 0, help: 'keep only the k most likely tokens (0: off)' },
  minP: { type: 'number', default: 0, min: 0, max: 0.999, help: 'drop tokens below this fraction of the top probability (0: off)' },
  maxNewTokens: { type: 'int', default: 256, min: 1, help: "the most tokens to generate per continuation (the prompt and these must fit in the model's context)" },
  seed: { type: 'int', min: 0, help: 'random seed; the same seed gives the same text (default: random)' },
  ...deviceFlags,
} as const satisfies FlagSpecs;

export type GenerateConfig = FlagValues<typeof generateFlags>;

/** Validates the flags together (each flag alone is checked by its spec). */
export function resolveGenerateConfig(values: Record<string, unknown>): GenerateConfig {
  const config = checkFlagValues(generateFlags, values);
  if (config.system !== undefined && !config.chat) throw new Error('--system needs --chat (a system message only exists in a chat template)');
  checkDtypeDevice(config.dtype, config.device);
  return config;
}

/** The prompt and --max-new-tokens must fit the model's positions; checked before the weights load. */
function checkContextFits(config: GenerateConfig, promptTokens: number): void {
  const contextLength = loadModelConfig(config.model).maxPositionEmbeddings;
  const room = tokenRoom({ contextLength, reserved: config.maxNewTokens, reservedBy: `--max-new-tokens ${config.maxNewTokens}`, model: config.model });
  if (promptTokens > room) {
    throw new Error(`--max-new-tokens ${config.maxNewTokens}: the prompt has ${promptTokens} tokens and ${config.model} has ${contextLength} positions (max_position_embeddings), so at most ${Math.max(0, contextLength - promptTokens)} new tokens fit; lower --max-new-tokens or shorten the prompt`);
  }
}

export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
}

export async function runGenerate(config: GenerateConfig, io: CommandIo): Promise<GeneratedSequence[]> {
  const tokenizer = await Tokenizer.fromDir(config.model);
  const prompt = promptText(config.prompt, config);
  const promptIds = config.chat
    ? (tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], {
        addGenerationPrompt: true,
        tokenize: true,
        ...(config.system !== undefined ? { systemPrompt: config.system } : {}),
      }) as number[])
    : tokenizer.encode(prompt, { addSpecialTokens: true });
  checkContextFits(config, promptIds.length);
  const model = loadModel(config.model, { dtype: config.dtype, device: config.device });
  try {
    const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
    const streaming = config.n === 1;
    const started = performance.now();
    const sequences = await generate(model, [promptIds], {
      maxNewTokens: config.maxNewTokens,
      n: config.n,
      temperature: config.temperature,
      topP: config.topP,
      topK: config.topK,
      minP: config.minP,
      eosTokenIds,
      tokenizer,
      ...(config.seed !== undefined ? { seed: config.seed } : {}),
      ...(streaming ? { onToken: ({ textDelta }) => textDelta && io.stdout.write(textDelta) } : {}),
    });
    const seconds = (performance.now() - started) / 1000;
    if (streaming) io.stdout.write('\n');
    sequences.forEach((s, i) => {
      const meanCertainty = s.selfCertainties.reduce((a, b) => a + b, 0) / Math.max(1, s.selfCertainties.length);
      const summary = `${s.tokenIds.length} tokens, finish ${s.finishReason}, self-certainty ${meanCertainty.toFixed(4)}`;
      if (streaming) io.stderr.write(`[${summary}]\n`);
      else io.stdout.write(`--- sample ${i + 1} of ${sequences.length} (${summary}) ---\n${s.text}\n`);
    });
    const tokens = sequences.reduce((a, s) => a + s.tokenIds.length, 0);
    io.stderr.write(`[${tokens} tokens in ${seconds.toFixed(2)} s: ${(tokens / seconds).toFixed(1)} tokens/s]\n`);
    return sequences;
  } finally {
    model.dispose();
  }
}
