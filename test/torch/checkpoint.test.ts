// Gradient checkpointing: recomputing each segment in backward gives the gradients of one plain
// backward (a chain of small layers, and the decoder of two fixture models through the training
// loss's path), scales them by the loss scale, frees what it made, and says what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { packPromptCompletions } from '../../src/model/pack.ts';
import { checkpointedCompletionBackward, completionLogprobs, type CompletionLogprobs } from '../../src/rl/policy.ts';
import { fixtureDir } from '../helpers/cli.ts';

const grads = (params: readonly torch.Tensor[]) => torch.scope(() => params.map((p) => Array.from(p.grad!.toFloat32Array())));

function maxRelativeDifference(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((row, i) => {
    const scale = b[i]!.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);
    row.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[i]![j]!) / scale)));
  });
  return worst;
}

function smallChain(params: torch.Tensor[], x: torch.Tensor): torch.CheckpointedChain {
  const [w0, w1, w2, head] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  return {
    first: () => x.matmul(w0).tanh(),
    segments: [(h) => h.add(h.matmul(w1).relu()), (h) => h.matmul(w2).sigmoid().mul(h)],
    head: (h) => h.matmul(head).square().mean(),
  };
}

test('a chain of layers: the same gradients and loss as one plain backward, times the loss scale', () => {
  const generator = new torch.Generator(3);
  const params = [[6, 8], [8, 8], [8, 8], [8, 2]].map((shape) => torch.randn(shape, { generator }).mul(0.5).requiresGrad_());
  const x = torch.randn([5, 6], { generator });
  const chain = smallChain(params, x);
  const plainLoss = torch.scope(() => {
    let h = chain.first();
    for (const segment of chain.segments) h = segment(h);
    const loss = chain.head(h);
    loss.backward();
    return loss.item();
  });
  const plain = grads(params);
  torch.zeroGrad(params);
  const before = torch.memoryStats().liveTensors;
  const loss = torch.checkpointedBackward(chain);
  assert.equal(torch.memoryStats().liveTensors, before, 'every tensor it made is freed');
  assert.ok(Math.abs(loss - plainLoss) < 1e-7);
  assert.ok(maxRelativeDifference(grads(params), plain) < 1e-6);
  torch.zeroGrad(params);
  torch.checkpointedBackward(chain, { gradScale: 4 });
  assert.ok(maxRelativeDifference(grads(params), plain.map((row) => row.map((g) => 4 * g))) < 1e-6);
  assert.throws(() => torch.checkpointedBackward({ ...chain, head: (h) => h.sum(-1) }), /the head must return a scalar loss, got shape \[5\]/);
  for (const p of [...params, x]) p.dispose();
});

for (const name of ['qwen2-tiny', 'llama-tiny'] as const) {
  test(`${name}: the training loss's gradients with every decoder layer recomputed equal the plain path's`, () => {
    const model = loadModel(fixtureDir(name));
    const params = model.parameters();
    for (const p of params) p.requiresGrad_();
    // Mixed lengths, so that padding and the attention mask take part.
    const batch = packPromptCompletions(
      [
        { prompt: [5, 17, 9], completion: [42, 7, 7, 100] },
        { prompt: [3, 11, 2, 8, 60], completion: [12] },
      ],
      0,
    );
    const loss = (out: CompletionLogprobs) => out.logprobs.mul(torch.tensor([[1, -2, 0.5, 1], [3, 0, 0, 0]])).sum().add(out.logprobs.exp().mean());
    const options = { temperature: 0.9 };
    const plainLoss = torch.scope(() => {
      const value = loss(completionLogprobs(model, batch, options));
      value.backward();
      return value.item();
    });
    const plain = grads(params);
    torch.zeroGrad(params);
    const checkpointedLoss = checkpointedCompletionBackward(model, batch, options, loss);
    assert.ok(Math.abs(checkpointedLoss - plainLoss) <= 1e-6 * Math.abs(plainLoss), `${checkpointedLoss} vs ${plainLoss}`);
    const difference = maxRelativeDifference(grads(params), plain);
    assert.ok(difference < 1e-5, `largest gradient difference ${difference} of the largest gradient`);
    assert.ok(plain.every((g) => g.some((v) => v !== 0)), 'every parameter gets a gradient');
    model.dispose();
  });
}
