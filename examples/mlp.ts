// A small MLP learns y = sin(3x) * x on [-1, 1]: the whole engine in one screen
// (tensors, autograd, AdamW with a cosine schedule, gradient clipping, scopes, seeds).
//
//   node --import tsx examples/mlp.ts
import * as torch from '../src/torch/index.ts';

const steps = 400;
const generator = new torch.Generator(0);

// Data: 256 points, x [256, 1] -> y [256, 1]
const x = torch.scope(() => torch.rand([256, 1], { generator }).mul(2).sub(1)).keep();
const y = torch.scope(() => x.mul(3).sin().mul(x)).keep();

// Parameters, initialised like nn.Linear (uniform in +-1/sqrt(fan_in)).
function linearWeights(inFeatures: number, outFeatures: number): torch.Tensor[] {
  const bound = 1 / Math.sqrt(inFeatures);
  return [
    torch.empty([outFeatures, inFeatures]).uniform_(-bound, bound, generator).requiresGrad_().keep(),
    torch.empty([outFeatures]).uniform_(-bound, bound, generator).requiresGrad_().keep(),
  ];
}
const [w1, b1] = linearWeights(1, 64);
const [w2, b2] = linearWeights(64, 64);
const [w3, b3] = linearWeights(64, 1);
const params = [w1!, b1!, w2!, b2!, w3!, b3!];
const optimizer = new torch.AdamW(params, { lr: 1e-2, weightDecay: 0 });

const forward = (input: torch.Tensor) => {
  const h1 = torch.linear(input, w1!, b1).tanh(); // [N, 64]
  const h2 = torch.linear(h1, w2!, b2).tanh(); // [N, 64]
  return torch.linear(h2, w3!, b3); // [N, 1]
};

for (let step = 0; step < steps; step++) {
  optimizer.lr = torch.cosineWithWarmup(step, { peakLr: 1e-2, totalSteps: steps, warmupSteps: 20 });
  const { loss, gradNorm } = torch.scope(() => {
    const loss = forward(x).sub(y).square().mean();
    loss.backward();
    const gradNorm = torch.clipGradNorm(params, 1.0);
    optimizer.step();
    optimizer.zeroGrad();
    return { loss: loss.item(), gradNorm };
  });
  if (step % 50 === 0 || step === steps - 1) {
    console.log(`step ${String(step).padStart(3)}  loss ${loss.toExponential(3)}  grad norm ${gradNorm.toFixed(3)}  lr ${optimizer.lr.toExponential(2)}`);
  }
  await new Promise(setImmediate); // long loops yield once per step
}

const prediction = torch.noGrad(() => torch.scope(() => forward(torch.tensor([[-0.5], [0], [0.5]])).toFloat32Array()));
console.log('f(-0.5), f(0), f(0.5) =', Array.from(prediction, (v) => v.toFixed(3)).join(', '), ` (target ${[-0.5, 0, 0.5].map((v) => (Math.sin(3 * v) * v).toFixed(3)).join(', ')})`);
console.log('live tensors:', torch.memoryStats().liveTensors, '(parameters, optimizer moments and data)');
