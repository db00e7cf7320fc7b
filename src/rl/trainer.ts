// The Intuitor / GRPO training loop (Zhao et al. 2025, "Learning to Reason without External
// Rewards"; GRPO: Shao et al. 2024), one step at a time:
//
//   1. rollout    G responses per prompt from the current policy (temperature 0.9), with the
//                 per-token statistics of the logits that chose each token
//   2. rewards    each reward function reads texts, ids, statistics and labels; Intuitor's is the
//                 mean self-certainty of the response under the current policy (online), or under
//                 the frozen initial model (--offline-certainty, the paper's hacking ablation)
//   3. advantages group-normalised per reward function, weighted and summed
//   4. update     numIterations x (micro-batches: forward with grad -> clipped surrogate + beta k3 KL
//                 -> backward), clip the gradient norm, AdamW with cosine schedule and warmup
//   5. log, and checkpoint every saveSteps steps, at the end, and when asked to stop (SIGINT /
//      SIGTERM through src/rl/stop-request.ts: the step finishes, then the loop returns)
//
// Data parallel (--nproc, src/rl/data-parallel.ts): each process rolls out its share of the
// step's prompts, whole groups only, weights its losses by their share of the global batch, and
// the gradients are summed over processes before the optimizer step; rank 0 logs and saves.
//
// Simplifications, stated: the reference model is the initial policy, frozen; the log-probs in
// the loss use logits / temperature (the sampling distribution, as TRL does), while
// self-certainty is measured on the raw logits unless --certainty-temperature says otherwise.
// Each prompt's G responses are sampled from a generator seeded by (seed, step, prompt), so they
// do not depend on how the step's prompts are split over processes.

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { loadModel } from '../model/load.ts';
import { packPromptCompletions } from '../model/pack.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { generate, type GeneratedSequence } from '../generate/generate.ts';
import { scoreResponses } from '../certainty/response-scores.ts';
import { extractAnswer, answersEquivalent } from '../select/index.ts';
import type { QaItem } from '../data/qa.ts';
import { Progress } from '../report/progress.ts';
import { TensorBoardWriter } from '../report/tensorboard.ts';
import { combinedAdvantages } from './advantages.ts';
import { policyLoss } from './loss.ts';
import { checkpointedCompletionBackward, completionLogprobs, usesGradientCheckpointing, type CompletionLogprobs } from './policy.ts';
import { rewardFunctions, type RewardInput } from './rewards.ts';
import { promptIds as formatPrompt } from './prompt.ts';
import { answerDiversity, answerScalars, gatherAnswers, repeatedNgramShare, type AnswerDiversity } from './answer-diversity.ts';
import type { ComputeDtype, GrpoConfig } from './config.ts';
import { trainingOptimizer } from './precision.ts';
import { singleProcess, type DataParallel } from './data-parallel.ts';
import { SeededRandom } from '../data/seeded-random.ts';
import { latestCheckpoint, loadOptimizerState, removeStaleTemporaries, saveTrainingCheckpoint, writeJsonAtomic, type TrainerState } from './checkpoint.ts';
import { identityMismatch, runFingerprint, runIdentity } from './run-identity.ts';
import { agreeOnStop, StopRequest } from './stop-request.ts';
import { keepMetricsUpTo } from './metrics-log.ts';

export interface TrainerInputs {
  config: GrpoConfig;
  tokenizer: Tokenizer;
  items: readonly QaItem[];
  /** continue from the run folder's latest checkpoint if it has one (default true) */
  resume?: boolean;
  /** stop once this many steps are done (a part of the run; the schedule still spans config.steps) */
  untilStep?: number;
  log?: NodeJS.WritableStream & { isTTY?: boolean };
  /** the processes this run is split over (default: this one alone) */
  parallel?: DataParallel;
  /** where this process computes (default: config.device); a launcher gives each rank its own GPU */
  device?: string;
  /** once requested (here or on any rank), the loop ends after the current step, with a checkpoint */
  stop?: StopRequest;
}

export interface StepMetrics {
  step: number;
  lr: number;
  loss: number;
  reward: number;
  rewards: Record<string, { mean: number; std: number }>;
  selfCertainty: { mean: number; std: number; min: number; max: number };
  accuracy: number | undefined;
  kl: number;
  clipFraction: number;
  completionLength: number;
  entropy: number;
  gradNorm: number;
  tokensPerSecond: number;
  /** wall-clock phases of the step on rank 0; communicate is the part of backward spent exchanging gradients */
  seconds: { generate: number; score: number; backward: number; communicate: number };
  samples: { prompt: string; completion: string; reward: number }[];
  /** how varied the step's answers and completions are (answer-diversity.ts; absent in older runs) */
  answers?: AnswerDiversity;
}

const mean = (v: readonly number[]) => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);
const std = (v: readonly number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));

// The data order: a fresh seeded permutation of the prompts for every epoch; position `cursor` of
// the endless sequence is a pure function of (seed, cursor), so resuming needs only the cursor.
function itemAt(items: readonly QaItem[], seed: number, cursor: number): QaItem {
  const epoch = Math.floor(cursor / items.length);
  const order = new SeededRandom(seed * 1_000_003 + epoch * 7919 + 1).shuffle(items.map((_, i) => i));
  return items[order[cursor % items.length]!]!;
}

/** The sampling seed of each of a step's prompts: a pure function of (seed, step, prompt). */
function rolloutSeeds(seed: number, step: number, prompts: number): number[] {
  const random = new SeededRandom(seed * 1_000_003 + step);
  return Array.from({ length: prompts }, () => Math.floor(random.next() * 2 ** 31));
}

export async function train(inputs: TrainerInputs): Promise<StepMetrics[]> {
  const { config, tokenizer, items } = inputs;
  const parallel = inputs.parallel ?? singleProcess;
  if (items.length === 0) throw new Error('no training prompts');
  const shard = parallel.shard(config.promptsPerStep); // this process's prompts of each step
  const stop = inputs.stop ?? new StopRequest();
  const runDir = config.output;
  mkdirSync(runDir, { recursive: true });
  // A run is its content (settings, starting model, data), not the path strings that name them.
  const identity = runIdentity(config, items);
  const fingerprint = runFingerprint(identity);
  const resumeFrom = inputs.resume === false ? undefined : latestCheckpoint(runDir);
  if (resumeFrom && resumeFrom.state.configFingerprint !== fingerprint) {
    const why = identityMismatch(resumeFrom.state.identity, identity, config, join(runDir, 'config.json'));
    throw new Error(`${runDir} holds a run with another configuration (${why}); continue that run as it was with \`intuitor train --resume ${runDir}\`, or choose another --output`);
  }
  if (parallel.isMain) {
    removeStaleTemporaries(runDir); // left by writes that were killed
    writeJsonAtomic(join(runDir, 'config.json'), config);
  }

  // Models: the policy (trained), and the frozen initial policy when the KL or offline scoring needs it.
  const loadOptions = { dtype: config.dtype as ComputeDtype, device: inputs.device ?? config.device };
  const policy = loadModel(resumeFrom ? join(resumeFrom.dir, 'model') : config.model, loadOptions);
  const reference: CausalLM | undefined = config.beta > 0 || config.offlineCertainty ? loadModel(config.model, loadOptions) : undefined;
  const params = policy.parameters();
  const checkpointing = usesGradientCheckpointing(config.gradientCheckpointing, policy);
  parallel.broadcastParameters(params);
  for (const p of params) p.requiresGrad_(true);
  // bfloat16/float16: float32 master weights and moments (from the starting folder's own weights), float16 with loss scaling.
  const optimizer = trainingOptimizer(policy, resumeFrom ? undefined : config.model, { lr: config.learningRate, betas: [config.adamBeta1, config.adamBeta2], eps: config.adamEpsilon, weightDecay: config.weightDecay });
  if (resumeFrom) loadOptimizerState(resumeFrom.dir, policy, optimizer);
  const state: TrainerState = { ...(resumeFrom?.state ?? { step: 0, dataCursor: 0 }), configFingerprint: fingerprint, identity };
  const eosTokenIds = [...new Set([...policy.config.eosTokenIds, ...tokenizer.eosTokenIds])];
  const padId = policy.config.padTokenId ?? eosTokenIds[0] ?? 0;
  const promptIdsOf = (question: string) => formatPrompt(tokenizer, question, config);
  const metricsPath = join(runDir, 'metrics.jsonl');
  // Steps logged after the checkpoint we resume from were lost with the process: drop their lines
  // (and a last line cut short by a kill).
  if (parallel.isMain) keepMetricsUpTo(runDir, state.step);
  // Only rank 0 reports progress; the others would print the same numbers.
  const log = parallel.isMain ? inputs.log : ({ write: () => true } as unknown as NodeJS.WritableStream);
  if (checkpointing) log?.write(`[gradient checkpointing: each decoder layer recomputed in backward (--gradient-checkpointing ${config.gradientCheckpointing})]\n`);
  const progress = new Progress({ label: 'train', total: config.steps, unit: 'steps', ...(log ? { stream: log as never } : {}) });
  progress.resume(state.step);
  const history: StepMetrics[] = [];
  const tensorboard = parallel.isMain ? new TensorBoardWriter(join(runDir, 'tensorboard')) : undefined;

  try {
    const stopAt = Math.min(config.steps, inputs.untilStep ?? config.steps);
    while (state.step < stopAt) {
      const started = performance.now();
      const lr = torch.cosineWithWarmup(state.step, { peakLr: config.learningRate, totalSteps: config.steps, warmupSteps: config.warmupSteps, minLr: config.minLearningRate });
      optimizer.lr = lr;
      const communicatedBefore = parallel.communicationSeconds;

      // 1. Rollout: G responses for each of this process's prompts, from the current policy.
      const prompts = Array.from({ length: shard.end - shard.start }, (_, k) => itemAt(items, config.seed, state.dataCursor + shard.start + k));
      const promptIds = prompts.map((p) => promptIdsOf(p.question));
      const sequences: GeneratedSequence[] = await generate(policy, promptIds, {
        n: config.numGenerations,
        maxNewTokens: config.maxCompletionLength,
        temperature: config.temperature,
        topP: config.topP,
        promptSeeds: rolloutSeeds(config.seed, state.step, config.promptsPerStep).slice(shard.start, shard.end),
        eosTokenIds,
        tokenizer,
      });
      const generated = performance.now();

      // 2. Rewards. Online self-certainty is what generation measured (same policy, raw logits);
      // another temperature or the offline ablation rescores the completions.
      const pairs = sequences.map((s) => ({ prompt: promptIds[s.prompt]!, response: s.tokenIds }));
      const rescoreWith = config.offlineCertainty ? reference : config.certaintyTemperature !== 1 ? policy : undefined;
      const rescored = rescoreWith ? scoreResponses(rescoreWith, pairs, { certaintyTemperature: config.certaintyTemperature, eosTokenIds: [] }) : undefined;
      const rewardInput: RewardInput = {
        completions: sequences.map((s) => s.text ?? ''),
        completionIds: sequences.map((s) => s.tokenIds),
        tokenSelfCertainty: rescored ? rescored.map((r) => r.tokenSelfCertainty) : sequences.map((s) => s.selfCertainties),
        tokenEntropy: sequences.map((s) => s.entropies),
        labels: sequences.map((s) => prompts[s.prompt]!.label),
        groupSize: config.numGenerations,
      };
      const rewardsByFunction = config.rewards.map((r) => rewardFunctions[r.name](rewardInput));
      const advantages = combinedAdvantages(rewardsByFunction, config.rewards.map((r) => r.weight), config.numGenerations, { scale: config.scaleRewards });
      const scored = performance.now();

      // 3-4. Policy update(s) over micro-batches; the loss of each is weighted by its share of
      // the step's whole batch (all processes), so that summed gradients are the batch's gradient.
      const micro = chunk(sequences.map((s, i) => i), config.microBatchSize);
      const maskFor = (i: number) => !(config.maskTruncatedCompletions && sequences[i]!.finishReason === 'length');
      const packed = micro.map((indices) => packPromptCompletions(indices.map((i) => ({ prompt: pairs[i]!.prompt, completion: pairs[i]!.response })), padId));
      const [allTokens] = parallel.sum([sequences.reduce((sum, s, i) => sum + (maskFor(i) ? s.tokenIds.length : 0), 0)]);
      const totalTokens = Math.max(1, allTokens!);
      // The old/ref log-probs outlive the micro-batch scopes; released in `finally`, so a step that
      // throws (a dead peer, a bad batch) leaks none of them.
      const constants: { old?: torch.Tensor; ref?: torch.Tensor }[] = [];
      let lossValue = 0;
      let kl = 0;
      let clipFraction = 0;
      let gradNorm = 0;
      try {
        torch.noGrad(() =>
          torch.scope(() => {
            for (const batch of packed) {
              const kept: { old?: torch.Tensor; ref?: torch.Tensor } = {};
              constants.push(kept);
              if (config.numIterations > 1) kept.old = completionLogprobs(policy, batch, { temperature: config.temperature }).logprobs.keep();
              if (reference && config.beta > 0) kept.ref = completionLogprobs(reference, batch, { temperature: config.temperature }).logprobs.keep();
            }
          }),
        );
        for (let iteration = 0; iteration < config.numIterations; iteration++) {
          micro.forEach((indices, m) => {
            torch.scope(() => {
              const batch = packed[m]!;
              const mask = torch.tensor(batch.completionMask.map((row, r) => (maskFor(indices[r]!) ? row : row.map(() => 0))), { dtype: 'float32', device: policy.device }); // [b, R]
              const tokens = mask.sum().item();
              const share = config.lossType === 'bnpo' ? tokens / totalTokens : indices.length / config.sequencesPerStep;
              const advantagesOf = torch.tensor(indices.map((i) => advantages[i]!), { dtype: 'float32', device: policy.device });
              let microKl = 0;
              let microClip = 0;
              // The micro-batch's share of the step's loss, from its completions' log-probs.
              const lossOf = (out: CompletionLogprobs): torch.Tensor => {
                const result = policyLoss(
                  {
                    logprobs: out.logprobs,
                    ...(constants[m]!.old ? { oldLogprobs: constants[m]!.old } : {}),
                    ...(constants[m]!.ref ? { refLogprobs: constants[m]!.ref } : {}),
                    advantages: advantagesOf,
                    mask,
                  },
                  { beta: config.beta, epsilonLow: config.epsilon, epsilonHigh: config.epsilonHigh, lossType: config.lossType as 'grpo' | 'bnpo' | 'dr_grpo', maxCompletionLength: config.maxCompletionLength },
                );
                microKl = result.kl;
                microClip = result.clipFraction;
                return result.loss.mul(share);
              };
              const logprobOptions = { temperature: config.temperature };
              let microLoss = 0;
              if (checkpointing) {
                optimizer.backwardWith((gradScale) => (microLoss = checkpointedCompletionBackward(policy, batch, logprobOptions, lossOf, gradScale)));
              } else {
                const loss = lossOf(completionLogprobs(policy, batch, logprobOptions));
                optimizer.backward(loss);
                microLoss = loss.item();
              }
              lossValue += microLoss / config.numIterations;
              kl += (microKl * tokens) / totalTokens / config.numIterations;
              clipFraction += (microClip * tokens) / totalTokens / config.numIterations;
            });
          });
          parallel.sumGradients(optimizer.masters); // the float32 gradients (the parameters themselves in float32)
          gradNorm = optimizer.clipGradNorm(config.maxGradNorm);
          optimizer.step(); // float16: skipped when a gradient is Inf/NaN (gradNorm shows it), and the loss scale backs off
          optimizer.zeroGrad();
        }
      } finally {
        for (const c of constants) {
          c.old?.dispose();
          c.ref?.dispose();
        }
      }
      state.step += 1;
      state.dataCursor += config.promptsPerStep;
      const updated = performance.now();

      // 5. Metrics over the whole step (every process's sequences), log, checkpoint.
      const totalReward = rewardsByFunction[0]!.map((_, i) => rewardsByFunction.reduce((sum, r, f) => sum + config.rewards[f]!.weight * r[i]!, 0));
      const answers = sequences.map((s) => extractAnswer(s.text ?? ''));
      const correctness = sequences.map((s, i) => {
        const label = prompts[s.prompt]!.label;
        if (label === undefined) return -1; // unlabelled: left out of the accuracy
        return answers[i] !== undefined && answersEquivalent(answers[i]!, label) ? 1 : 0;
      });
      // One row per sequence, gathered from every process: the k rewards, then these columns.
      const k = config.rewards.length;
      const [TOTAL, CERTAINTY, CORRECT, LENGTH, ENTROPY] = [k, k + 1, k + 2, k + 3, k + 4];
      const local = sequences.flatMap((s, i) => [...rewardsByFunction.map((r) => r[i]!), totalReward[i]!, mean(rewardInput.tokenSelfCertainty[i]!), correctness[i]!, s.tokenIds.length, mean(s.entropies)]);
      const rows = chunk(parallel.gather(local), k + 5);
      const column = (c: number) => rows.map((r) => r[c]!);
      const [loss, stepKl, stepClip] = parallel.sum([lossValue, kl, clipFraction]) as [number, number, number];
      const finished = performance.now();
      const certainty = column(CERTAINTY);
      const labelled = column(CORRECT).filter((c) => c >= 0);
      const generatedTokens = column(LENGTH).reduce((a, b) => a + b, 0);
      const metrics: StepMetrics = {
        step: state.step,
        lr,
        loss,
        reward: mean(column(TOTAL)),
        rewards: Object.fromEntries(config.rewards.map((r, c) => [r.name, { mean: mean(column(c)), std: std(column(c)) }])),
        selfCertainty: { mean: mean(certainty), std: std(certainty), min: Math.min(...certainty), max: Math.max(...certainty) },
        accuracy: labelled.length > 0 ? labelled.filter((c) => c === 1).length / labelled.length : undefined,
        kl: stepKl,
        clipFraction: stepClip,
        completionLength: generatedTokens / rows.length,
        entropy: mean(column(ENTROPY)),
        gradNorm,
        tokensPerSecond: generatedTokens / ((finished - started) / 1000),
        seconds: {
          generate: (generated - started) / 1000,
          score: (scored - generated) / 1000,
          backward: (updated - scored) / 1000,
          communicate: parallel.communicationSeconds - communicatedBefore,
        },
        samples: sequences.slice(0, config.logCompletions).map((s, i) => ({ prompt: prompts[s.prompt]!.question, completion: s.text ?? '', reward: totalReward[i]! })),
        answers: answerDiversity(gatherAnswers(parallel, answers), config.numGenerations, parallel.gather(sequences.map((s) => repeatedNgramShare(s.tokenIds)))),
      };
      history.push(metrics);
      // A stop asked for on any rank ends every rank's loop here, after a checkpoint.
      const stopping = agreeOnStop(parallel, stop) && state.step < config.steps;
      if (parallel.isMain) {
        appendFileSync(metricsPath, `${JSON.stringify(metrics)}\n`);
        tensorboard!.scalars(metrics.step, scalarsOf(metrics));
        if (state.step % config.saveSteps === 0 || state.step === config.steps || stopping) {
          saveTrainingCheckpoint(runDir, { model: policy, optimizer, state, tokenizerDir: config.model, ...(config.saveTotalLimit !== undefined ? { keep: config.saveTotalLimit } : {}) });
        }
      }
      progress.tick(1, `reward ${metrics.reward.toFixed(4)} certainty ${metrics.selfCertainty.mean.toFixed(4)}${metrics.accuracy === undefined ? '' : ` accuracy ${(100 * metrics.accuracy).toFixed(1)}%`} kl ${stepKl.toExponential(1)}`);
      if (stopping) {
        stop.stoppedAfterStep = state.step;
        break;
      }
      await new Promise(setImmediate); // one event-loop turn per step
    }
    progress.finish();
    return history;
  } finally {
    optimizer.dispose();
    policy.dispose();
    reference?.dispose();
  }
}

/** The step's numbers as TensorBoard scalar tags. */
export function scalarsOf(m: StepMetrics): Record<string, number> {
  return {
    reward: m.reward,
    ...Object.fromEntries(Object.entries(m.rewards).flatMap(([name, r]) => [[`reward/${name}/mean`, r.mean], [`reward/${name}/std`, r.std]])),
    'self_certainty/mean': m.selfCertainty.mean,
    'self_certainty/std': m.selfCertainty.std,
    'self_certainty/min': m.selfCertainty.min,
    'self_certainty/max': m.selfCertainty.max,
    ...(m.accuracy === undefined ? {} : { accuracy: m.accuracy }),
    kl: m.kl,
    loss: m.loss,
    clip_fraction: m.clipFraction,
    completion_length: m.completionLength,
    entropy: m.entropy,
    lr: m.lr,
    grad_norm: m.gradNorm,
    tokens_per_second: m.tokensPerSecond,
    'seconds/generate': m.seconds.generate,
    'seconds/score': m.seconds.score,
    'seconds/backward': m.seconds.backward,
    'seconds/communicate': m.seconds.communicate,
    ...(m.answers ? answerScalars(m.answers) : {}),
  };
}

function chunk<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

export { readMetrics } from './metrics-log.ts';
