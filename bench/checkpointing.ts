// Gradient checkpointing: peak memory and time of one GRPO micro-batch's forward+backward with and
// without recomputing the decoder layers, on a randomly initialised Qwen2.5-0.5B-shaped model
// (24 layers, hidden 896, 14 heads / 2 kv heads, intermediate 4864, vocabulary 151936, tied),
// G = 7 completions of 256 tokens after a 64-token prompt, float32.
//
//   npm run bench:checkpointing      (or: node --import tsx bench/checkpointing.ts [--layers N] [--quick])
//
// Each variant runs one pass in its own child process, so that its peak resident memory (getrusage's
// maxrss) is its own: activation memory = that peak - the resident memory just before the pass, when
// the weights and their (zeroed) gradients exist. Large blocks are mmap-ed (MALLOC_MMAP_THRESHOLD_), so
// freed memory leaves the resident set at once instead of staying in the allocator. Both sides
// compute the same loss, printed beside each other. --quick: 4 layers. Prints a table, then one JSON
// line.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.ts';
import { initModel } from '../src/model/init.ts';
import { packPromptCompletions } from '../src/model/pack.ts';
import { policyLoss } from '../src/rl/loss.ts';
import { checkpointedCompletionBackward, completionLogprobs, type CompletionLogprobs } from '../src/rl/policy.ts';
import { argv, fmt, printTable, quick } from './harness.ts';

const layersFlag = argv.indexOf('--layers');
const layers = layersFlag >= 0 ? Number(argv[layersFlag + 1]) : quick ? 4 : 24;
const shape = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: layers, num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768,
  rope_theta: 1e6, rms_norm_eps: 1e-6, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.02,
};
const workload = { completions: 7, promptTokens: 64, completionTokens: 256 };

interface VariantResult {
  variant: string;
  seconds: number;
  loss: number;
  baselineMiB: number;
  peakMiB: number;
}

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

function runVariant(variant: 'plain' | 'checkpointed'): VariantResult {
  const model = initModel(shape, 0);
  for (const p of model.parameters()) {
    p.requiresGrad_();
    p.grad = torch.zerosLike(p); // the gradients' memory exists before the pass, as in training
  }
  const generator = new torch.Generator(1);
  const draw = (n: number) => torch.scope(() => Array.from(torch.randint(3, shape.vocab_size, [n], { generator }).toArray() as BigInt64Array, Number));
  const prompt = draw(workload.promptTokens);
  const batch = packPromptCompletions(Array.from({ length: workload.completions }, () => ({ prompt, completion: draw(workload.completionTokens) })), 0);
  const advantages = torch.tensor(Array.from({ length: workload.completions }, (_, i) => (i - 2) / 2)); // mean != 0: loss != 0
  const mask = torch.ones([workload.completions, workload.completionTokens]);
  const lossOf = (out: CompletionLogprobs) => policyLoss({ logprobs: out.logprobs, advantages, mask }, { beta: 0, epsilonLow: 0.2, epsilonHigh: 0.2, lossType: 'grpo', maxCompletionLength: workload.completionTokens }).loss;
  const options = { temperature: 0.9 };
  const pass = (): number =>
    torch.scope(() => {
      if (variant === 'checkpointed') return checkpointedCompletionBackward(model, batch, options, lossOf);
      const loss = lossOf(completionLogprobs(model, batch, options));
      loss.backward();
      return loss.item();
    });
  const baselineMiB = rssMiB();
  const started = performance.now();
  const loss = pass();
  const seconds = (performance.now() - started) / 1000;
  return { variant, seconds, loss, baselineMiB, peakMiB: maxRssMiB() };
}

if (argv[0] === '--variant') {
  process.stdout.write(`${JSON.stringify(runVariant(argv[1] as 'plain' | 'checkpointed'))}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const results = (['plain', 'checkpointed'] as const).map((variant) => {
    process.stderr.write(`[bench:checkpointing] ${variant}: ${layers} layers, ${workload.completions} x (${workload.promptTokens} + ${workload.completionTokens}) tokens\n`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--variant', variant], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE', MALLOC_MMAP_THRESHOLD_: '131072' }, maxBuffer: 16 * 2 ** 20 });
    if (child.status !== 0) throw new Error(`the ${variant} run exited ${child.status ?? child.signal}:\n${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as VariantResult;
  });
  const [plain, checkpointed] = results as [VariantResult, VariantResult];
  const activations = (r: VariantResult) => r.peakMiB - r.baselineMiB;
  printTable(
    ['variant', 'forward+backward s', 'loss', 'weights+grads MiB', 'peak MiB', 'activations MiB'],
    results.map((r) => [r.variant, fmt(r.seconds, 2), r.loss.toFixed(6), fmt(r.baselineMiB, 0), fmt(r.peakMiB, 0), fmt(activations(r), 0)]),
  );
  const summary = {
    layers,
    workload,
    activationRatio: activations(plain) / activations(checkpointed),
    timeRatio: checkpointed.seconds / plain.seconds,
    lossDifference: Math.abs(plain.loss - checkpointed.loss),
    results,
  };
  console.log(`activation memory ${fmt(summary.activationRatio, 2)}x smaller with checkpointing, for ${fmt(100 * (summary.timeRatio - 1), 0)}% more time (targets: >= 3x, <= 35%)`);
  console.log(JSON.stringify(summary));
}
