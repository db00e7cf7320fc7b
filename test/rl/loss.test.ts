// The GRPO loss variants and the k3 KL against values worked out by hand on tiny tensors, and
// the gradient reaching only the policy's log-probs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { policyLoss, type PolicyLossOptions } from '../../src/rl/loss.ts';

const base: PolicyLossOptions = { beta: 0, epsilonLow: 0.2, epsilonHigh: 0.2, lossType: 'grpo', maxCompletionLength: 4 };
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

// Two sequences of 3 and 2 tokens (mask), advantages +1 and -2, first update (ratio 1).
function fixture() {
  const logprobs = torch.tensor([[-1, -2, -0.5], [-0.3, -0.7, 0]], { dtype: 'float64', requiresGrad: true });
  const mask = torch.tensor([[1, 1, 1], [1, 1, 0]], { dtype: 'float64' });
  const advantages = torch.tensor([1, -2], { dtype: 'float64' });
  return { logprobs, mask, advantages };
}

test('ratio 1: each variant is -mean advantage with its own normalisation', () => {
  torch.scope(() => {
    // per-token loss is -A: row 0 tokens -1 (x3), row 1 tokens +2 (x2)
    const cases: [PolicyLossOptions['lossType'], number][] = [
      ['grpo', (-1 + 2) / 2], // row means -1 and 2, averaged
      ['bnpo', (-3 + 4) / 5], // token sum / 5 tokens
      ['dr_grpo', (-3 + 4) / (2 * 4)], // token sum / (B x max length 4)
    ];
    for (const [lossType, expected] of cases) {
      const out = policyLoss(fixture(), { ...base, lossType });
      close(out.loss.item(), expected, lossType);
      assert.equal(out.clipFraction, 0);
      assert.equal(out.kl, 0);
    }
  });
});

test('the gradient reaches the log-probs only, -A / length / B for grpo', () => {
  torch.scope(() => {
    const input = fixture();
    const advantages = input.advantages.clone().requiresGrad_();
    const old = input.logprobs.detach().clone().requiresGrad_();
    policyLoss({ ...input, advantages, oldLogprobs: old }, base).loss.backward();
    const g = input.logprobs.grad!.toFloat64Array();
    [-1 / 3 / 2, -1 / 3 / 2, -1 / 3 / 2, 2 / 2 / 2, 2 / 2 / 2, 0].forEach((e, i) => close(g[i]!, e, `grad[${i}]`));
    assert.equal(advantages.grad, null, 'advantages are constants');
    assert.equal(old.grad, null, 'old log-probs are constants');
  });
});

test('clipping: ratios outside [1 - eps, 1 + eps] stop pushing, and are counted', () => {
  torch.scope(() => {
    // one sequence, two tokens; ratio e^0.5 = 1.65 (A > 0: clipped to 1.2) and e^-0.5 = 0.61 (A > 0: not clipped)
    const logprobs = torch.tensor([[-0.5, -1.5]], { dtype: 'float64', requiresGrad: true });
    const oldLogprobs = torch.tensor([[-1, -1]], { dtype: 'float64' });
    const mask = torch.ones([1, 2], { dtype: 'float64' });
    const out = policyLoss({ logprobs, oldLogprobs, mask, advantages: torch.tensor([2], { dtype: 'float64' }) }, base);
    close(out.loss.item(), -(1.2 * 2 + Math.exp(-0.5) * 2) / 2, 'loss');
    close(out.clipFraction, 0.5, 'clip fraction');
    out.loss.backward();
    const g = logprobs.grad!.toFloat64Array();
    close(g[0]!, 0, 'clipped token has no gradient');
    close(g[1]!, (-2 * Math.exp(-0.5)) / 2, 'unclipped token: -A ratio / length');
    // epsilonHigh widens the upper side only: 1.65 < 1 + 0.7 is not clipped
    close(policyLoss({ logprobs, oldLogprobs, mask, advantages: torch.tensor([2], { dtype: 'float64' }) }, { ...base, epsilonHigh: 0.7 }).clipFraction, 0, 'clip-higher');
  });
});

test('k3 KL to the reference: exp(ref - logp) - (ref - logp) - 1, added with beta', () => {
  torch.scope(() => {
    const input = fixture();
    const refLogprobs = torch.tensor([[-1.5, -2, 0], [-0.3, -0.2, 5]], { dtype: 'float64' });
    const out = policyLoss({ ...input, refLogprobs }, { ...base, beta: 0.1, lossType: 'bnpo' });
    const k3 = (d: number) => Math.exp(d) - d - 1;
    const kls = [k3(-0.5), k3(0), k3(0.5), k3(0), k3(0.5)];
    const meanKl = kls.reduce((a, b) => a + b, 0) / 5;
    close(out.kl, meanKl, 'mean KL over completion tokens (the masked token is left out)');
    close(out.loss.item(), (-3 + 4) / 5 + 0.1 * meanKl, 'loss');
    assert.ok(kls.every((k) => k >= 0));
  });
});

test('bad input is named', () => {
  torch.scope(() => {
    const input = fixture();
    assert.throws(() => policyLoss(input, { ...base, beta: 0.01 }), /beta > 0 needs refLogprobs/);
    assert.throws(() => policyLoss({ ...input, advantages: torch.zeros([3]) }, base), /advantages \[3\] must be \[2\]/);
    assert.throws(() => policyLoss({ ...input, mask: torch.ones([2, 2]) }, base), /logprobs \[2,3\] and mask \[2,2\] must both be \[batch, tokens\]/);
  });
});
