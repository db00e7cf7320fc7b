// Supervised fine-tuning: the loss is the mean cross entropy of completion tokens only (checked
// against a hand computation on unpadded sequences, so prompt or padding positions would show),
// and a few steps on a tiny random model reduce it; the sft command writes a loadable model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.ts';
import { initModel } from '../../src/model/init.ts';
import { loadModel } from '../../src/model/load.ts';
import { packPromptCompletions } from '../../src/model/pack.ts';
import { completionLoss, sft } from '../../src/rl/sft.ts';
import { main } from '../../src/cli/main.ts';

const tiny = { model_type: 'qwen2', vocab_size: 20, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true, pad_token_id: 0, eos_token_id: 2 };
const pairs = [
  { prompt: [5, 6, 7, 8, 9], completion: [10, 11, 2] },
  { prompt: [12, 13], completion: [14, 15, 16, 17, 2] },
  { prompt: [4], completion: [9, 2] },
];

const lossOf = (model: Parameters<typeof completionLoss>[0], batch: Parameters<typeof completionLoss>[1]) => torch.noGrad(() => torch.scope(() => completionLoss(model, batch).item()));

test('completionLoss is the mean cross entropy over completion tokens only', () => {
  const model = initModel(tiny, 1);
  try {
    const got = lossOf(model, packPromptCompletions(pairs, 0));
    // By hand: each sequence alone (no padding), -log p(completion token | everything before it).
    let sum = 0;
    let count = 0;
    torch.noGrad(() => torch.scope(() => {
      for (const { prompt, completion } of pairs) {
        const ids = [...prompt, ...completion];
        const logp = model.forward(torch.tensor([ids], { dtype: 'int64' })).logSoftmax(-1).toFloat32Array(); // [1, T, V]
        completion.forEach((token, i) => {
          const position = prompt.length + i - 1;
          sum -= logp[position * tiny.vocab_size + token]!;
          count += 1;
        });
      }
    }));
    assert.ok(Math.abs(got - sum / count) < 1e-5, `${got} vs ${sum / count}`);
  } finally {
    model.dispose();
  }
});

test('a few SFT steps reduce the completion loss', async () => {
  const model = initModel(tiny, 2);
  try {
    const packed = packPromptCompletions(pairs, 0);
    const before = lossOf(model, packed);
    const history = await sft(model, pairs, { steps: 25, batchSize: 3, learningRate: 1e-2, warmupSteps: 2, padId: 0, seed: 1 });
    const after = lossOf(model, packed);
    assert.equal(history.length, 25);
    assert.ok(history.every((m) => Number.isFinite(m.loss) && m.gradNorm > 0));
    assert.ok(after < before * 0.5, `loss ${before} -> ${after}`);
  } finally {
    model.dispose();
  }
  assert.equal(torch.memoryStats().liveTensors, 0, 'sft leaves no tensors behind');
});

test('intuitor sft on arith writes a loadable model', async () => {
  const root = mkdtempSync(join(tmpdir(), 'intuitor-sft-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const quiet = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
  assert.equal(await main(['init', '--output', join(root, 'init')], quiet), 0);
  assert.equal(await main(['sft', '--model', join(root, 'init'), '--output', join(root, 'sft'), '--steps', '2', '--batch-size', '2', '--examples', '8', '--chat'], quiet), 0);
  const a = loadModel(join(root, 'init'));
  const b = loadModel(join(root, 'sft'));
  assert.notDeepEqual(a.params.get('model.embed_tokens.weight')!.bytes(), b.params.get('model.embed_tokens.weight')!.bytes());
  a.dispose();
  b.dispose();
});

test('sft --styles draws the arith solutions from the mix; a bad mix is refused before any work', async () => {
  const { resolveSftConfig, loadSftExamples } = await import('../../src/cli/sft.ts');
  const { Tokenizer } = await import('../../src/tokenizer/index.ts');
  const { solutionStyleOf } = await import('../../src/data/arith-solution-styles.ts');
  const root = mkdtempSync(join(tmpdir(), 'intuitor-sft-styles-'));
  try {
    await main(['init', '--output', join(root, 'init')], { stdout: { write: () => true }, stderr: { write: () => true } } as never);
    const config = resolveSftConfig({ model: join(root, 'init'), output: join(root, 'out'), levels: '1', examples: 400, styles: 'columns=0.35,answer=0.65', chat: true, system: '', instruction: '' });
    const tokenizer = await Tokenizer.fromDir(config.model);
    const examples = await loadSftExamples(config, tokenizer, 2);
    const styles = examples.map((e) => solutionStyleOf(tokenizer.decode(e.completion, { skipSpecialTokens: true })));
    const columns = styles.filter((s) => s === 'columns').length / styles.length;
    assert.ok(styles.every((s) => s === 'columns' || s === 'answer'), 'only the two styles of the mix');
    assert.ok(Math.abs(columns - 0.35) < 0.08, `columns share ${columns}`);
    assert.ok(examples.some((e) => tokenizer.decode(e.completion).includes('carry')), 'carry is a word of the built tokenizer');
    assert.throws(() => resolveSftConfig({ model: config.model, output: config.output, styles: 'columns=0.5,answer=0.6' }), /--styles: the shares must sum to 1/);
    assert.throws(() => resolveSftConfig({ model: config.model, output: config.output, styles: 'colums' }), /--styles: unknown style "colums"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
