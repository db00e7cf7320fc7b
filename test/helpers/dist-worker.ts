// One rank of a distributed test, run by test/torch/distributed.test.ts as
//   node --import tsx test/helpers/dist-worker.ts '<json WorkerConfig>'
// Prints one JSON line per result: what it sent and what it got, so that the parent checks the
// collectives against every rank's inputs; an error is reported as { error, elapsedMs }.
import * as torch from '../../src/torch/index.ts';

export interface WorkerConfig {
  scenario: 'collectives' | 'dies' | 'init-only';
  rank: number;
  worldSize: number;
  port: number;
  timeoutMs: number;
  /** after init, keep the group open until stdin has a line or closes (the parent says when) */
  hold?: boolean;
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const report = (value: object): void => console.log(JSON.stringify({ rank: config.rank, ...value }));
const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// Rank-dependent values, different per tensor, with a sign that flips between ranks so that max and
// min pick different ranks' elements.
function filled(shape: number[], dtype: torch.DType, salt: number): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const sign = config.rank % 2 === 0 ? 1 : -1;
  const values = Array.from({ length: n }, (_, i) => sign * (i - n / 3) * (salt + 1) + config.rank * 100 + (dtype === 'int64' ? 0 : 0.25));
  return torch.tensor(values, { dtype }).reshape(shape);
}

const toList = (t: torch.Tensor): number[] => Array.from(t.toFloat64Array());

function allReduceCase(op: torch.distributed.ReduceOp, bucketBytes: number | undefined): object {
  const specs: [number[], torch.DType][] = [
    [[3, 4], 'float32'],
    [[5], 'float64'],
    [[2, 3, 2], 'float32'],
    [[7], 'float32'],
    [[4, 4], 'float64'],
    [[1], 'float32'],
    [[300], 'float32'], // larger than the small buckets: a bucket of its own
  ];
  if (op !== 'avg') specs.push([[6], 'int64']);
  const tensors = specs.map(([shape, dtype], k) => filled(shape, dtype, k));
  const inputs = tensors.map(toList);
  pg.allReduce(tensors, { op, bucketBytes });
  return { op, bucketBytes, dtypes: tensors.map((t) => t.dtype), shapes: tensors.map((t) => t.shape), inputs, outputs: tensors.map(toList) };
}

const started = Date.now();
let pg: torch.distributed.ProcessGroup;
try {
  pg = torch.distributed.initProcessGroup({ rank: config.rank, worldSize: config.worldSize, masterPort: config.port, timeoutMs: config.timeoutMs });
} catch (e) {
  report({ step: 'init', error: (e as Error).message, elapsedMs: Date.now() - started });
  process.exit(0);
}
report({ step: 'init', info: { rank: pg.rank, worldSize: pg.worldSize, backend: pg.backend } });
if (config.hold) await new Promise((resolve) => process.stdin.once('data', resolve).once('end', resolve));

if (config.scenario === 'collectives') {
  report({ step: 'allReduce', ...allReduceCase('sum', 64) }); // 64 bytes: many buckets
  report({ step: 'allReduce', ...allReduceCase('avg', undefined) }); // one bucket per dtype
  report({ step: 'allReduce', ...allReduceCase('max', 1) }); // one bucket per tensor
  report({ step: 'allReduce', ...allReduceCase('min', 200) });

  const sent = [filled([2, 3], 'float32', 7), filled([4], 'float64', 8)];
  const before = sent.map(toList);
  pg.broadcast(sent, 1);
  report({ step: 'broadcast', inputs: before, outputs: sent.map(toList) });

  const mine = filled([2, 2], 'float32', 9);
  const gathered = pg.allGather(mine);
  report({ step: 'allGather', input: toList(mine), outputs: gathered.map(toList), shapes: gathered.map((t) => t.shape) });

  // Rank 1 arrives late: rank 0's barrier must wait for it.
  if (config.rank === 1) sleep(600);
  const t0 = Date.now();
  pg.barrier();
  report({ step: 'barrier', waitedMs: Date.now() - t0 });
} else if (config.scenario === 'dies') {
  const t = filled([8], 'float32', 1);
  pg.allReduce(t);
  report({ step: 'first', output: toList(t) });
  if (config.rank === 1) process.exit(3); // dies mid-run, group still open
  sleep(300);
  const t0 = Date.now();
  try {
    pg.allReduce(t);
    report({ step: 'second', output: toList(t) });
  } catch (e) {
    report({ step: 'second', error: (e as Error).message, elapsedMs: Date.now() - t0 });
  }
}
pg.destroy();
report({ step: 'done' });
