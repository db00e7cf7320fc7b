// c10d process groups: collectives between real processes on 127.0.0.1 (test/helpers/dist-worker.ts),
// and the errors a mis-launched or broken job must give — quickly, never a hang or an abort.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { native } from '../../src/torch/native.ts';
import type { WorkerConfig } from '../helpers/dist-worker.ts';

const { initProcessGroup, rendezvousFromEnv, freeLoopbackPort: freePort } = torch.distributed;
const worker = fileURLToPath(new URL('../helpers/dist-worker.ts', import.meta.url));


interface Report {
  rank: number;
  step: string;
  error?: string;
  elapsedMs?: number;
  [key: string]: unknown;
}
interface RankResult {
  code: number | null;
  reports: Report[];
  stderr: string;
}

/**
 * Runs one worker per config to the end; every worker is killed when the test ends, whatever
 * happened. Workers started with `hold` keep their group open until every worker has reported init.
 */
function runRanks(t: TestContext, configs: WorkerConfig[], limitMs = 20_000): Promise<RankResult[]> {
  const children = configs.map((c) =>
    spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(c)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, INTUITOR_NUM_THREADS: '1' } }),
  );
  const initialised = new Set<number>();
  const released = (k: number): void => {
    initialised.add(k);
    if (initialised.size === children.length) for (const child of children) child.stdin.end();
  };
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Promise.all(
    children.map(
      (child, k) =>
        new Promise<RankResult>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d;
            if (out.includes('"step":"init"')) released(k);
          });
          child.stdin.on('error', () => {}); // a worker that already exited
          child.stderr.on('data', (d: Buffer) => (err += d));
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`worker ${k} (${JSON.stringify(configs[k])}) did not finish within ${limitMs} ms; stdout:\n${out}\nstderr:\n${err}`));
          }, limitMs);
          child.on('close', (code) => {
            clearTimeout(timer);
            const reports = out
              .split('\n')
              .filter((line) => line.startsWith('{'))
              .map((line) => JSON.parse(line) as Report);
            resolve({ code, reports, stderr: err });
          });
        }),
    ),
  );
}

const step = (result: RankResult, name: string): Report[] => result.reports.filter((r) => r.step === name);

function assertClose(got: number[], want: number[], tolerance: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= tolerance * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

const reduce: Record<torch.distributed.ReduceOp, (a: number, b: number) => number> = {
  sum: (a, b) => a + b,
  avg: (a, b) => (a + b) / 2,
  max: Math.max,
  min: Math.min,
};

test('two ranks: allReduce (sum, avg, max, min; float32, float64, int64; many buckets), broadcast, allGather, barrier', async (t) => {
  const port = await freePort();
  const ranks = await runRanks(t, [0, 1].map((rank) => ({ scenario: 'collectives', rank, worldSize: 2, port, timeoutMs: 10_000 }) as const));
  for (const r of ranks) {
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(step(r, 'init')[0]!.info, { rank: r.reports[0]!.rank, worldSize: 2, backend: 'gloo' });
    assert.equal(step(r, 'done').length, 1, `rank finished: ${JSON.stringify(r.reports.at(-1))}`);
  }
  const [r0, r1] = ranks as [RankResult, RankResult];

  await t.test('allReduce: every rank holds the reduction of both ranks\' inputs, shapes and dtypes kept', () => {
    const cases0 = step(r0, 'allReduce');
    const cases1 = step(r1, 'allReduce');
    assert.deepEqual(cases0.map((c) => c.op), ['sum', 'avg', 'max', 'min']);
    for (let k = 0; k < cases0.length; k++) {
      const [c0, c1] = [cases0[k]!, cases1[k]!];
      const op = c0.op as torch.distributed.ReduceOp;
      const dtypes = c0.dtypes as torch.DType[];
      assert.ok(dtypes.includes('float32') && dtypes.includes('float64'));
      assert.deepEqual(c1.shapes, c0.shapes);
      const [in0, in1] = [c0.inputs as number[][], c1.inputs as number[][]];
      dtypes.forEach((dtype, i) => {
        assert.notDeepEqual(in0[i], in1[i], 'the ranks start from different values');
        const want = in0[i]!.map((a, j) => reduce[op](a, in1[i]![j]!));
        const tolerance = dtype === 'float32' ? 1e-6 : dtype === 'float64' ? 1e-12 : 0;
        assertClose((c0.outputs as number[][])[i]!, want, tolerance, `rank 0 ${op} tensor ${i} (${dtype})`);
        assertClose((c1.outputs as number[][])[i]!, want, tolerance, `rank 1 ${op} tensor ${i} (${dtype})`);
      });
    }
  });

  await t.test('broadcast from rank 1 overwrites rank 0 and leaves rank 1 as it was', () => {
    const [b0, b1] = [step(r0, 'broadcast')[0]!, step(r1, 'broadcast')[0]!];
    assert.notDeepEqual(b0.inputs, b1.inputs);
    assert.deepEqual(b0.outputs, b1.inputs);
    assert.deepEqual(b1.outputs, b1.inputs);
  });

  await t.test('allGather returns every rank\'s tensor in rank order', () => {
    const [g0, g1] = [step(r0, 'allGather')[0]!, step(r1, 'allGather')[0]!];
    assert.deepEqual(g0.outputs, [g0.input, g1.input]);
    assert.deepEqual(g1.outputs, [g0.input, g1.input]);
    assert.deepEqual(g0.shapes, [[2, 2], [2, 2]]);
  });

  await t.test('barrier waits for the late rank', () => {
    assert.ok((step(r0, 'barrier')[0]!.waitedMs as number) >= 300, `rank 0 waited ${step(r0, 'barrier')[0]!.waitedMs} ms for a rank 600 ms late`);
  });
});

test('world size 1 works in-process; destroy is idempotent and later use is a clear error', async () => {
  const pg = initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 5_000 });
  assert.deepEqual([pg.rank, pg.worldSize, pg.backend, pg.isDestroyed], [0, 1, 'gloo', false]);
  torch.scope(() => {
    const a = torch.tensor([[1.5, -2], [3, 4]]);
    const b = torch.tensor([7, 8, 9], { dtype: 'float64' });
    pg.allReduce([a, b], { op: 'sum', bucketBytes: 4 });
    pg.allReduce(a, { op: 'avg' });
    assert.deepEqual(a.tolist(), [[1.5, -2], [3, 4]]);
    assert.deepEqual(b.tolist(), [7, 8, 9]);
    pg.broadcast([a, b], 0);
    assert.deepEqual(a.tolist(), [[1.5, -2], [3, 4]]);
    const gathered = pg.allGather(b);
    assert.equal(gathered.length, 1);
    assert.deepEqual(gathered[0]!.tolist(), [7, 8, 9]);
    gathered[0]!.fill_(0);
    assert.deepEqual(b.tolist(), [7, 8, 9], 'allGather returns new tensors');
    pg.barrier();
    assert.throws(() => pg.broadcast(a, 1), { name: 'RangeError', message: /broadcast: src must be a rank in 0\.\.0, got 1/ });
    pg[Symbol.dispose]();
    assert.equal(pg.isDestroyed, true);
    pg.destroy();
    const destroyed = /this process group was destroyed: create a new one with initProcessGroup/;
    assert.throws(() => pg.allReduce(a), { message: destroyed });
    assert.throws(() => pg.broadcast(a), { message: destroyed });
    assert.throws(() => pg.allGather(a), { message: destroyed });
    assert.throws(() => pg.barrier(), { message: destroyed });
  });
});

test('non-contiguous, disposed or wrongly typed tensors are rejected before any communication', async () => {
  const pg = initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 5_000 });
  try {
    torch.scope(() => {
      const transposed = torch.ones([3, 4]).transpose(0, 1);
      assert.equal(transposed.isContiguous(), false);
      assert.throws(() => pg.allReduce([torch.ones([2]), transposed]), { message: /^allReduce needs contiguous tensors, but tensor 1 \(shape \[4, 3\]\) is not: call \.contiguous\(\) first/ });
      assert.throws(() => pg.broadcast(transposed), { message: /^broadcast needs contiguous tensors/ });
      assert.throws(() => pg.allGather(transposed), { message: /^allGather needs contiguous tensors/ });
      // The addon checks too, for callers that bypass the TS layer.
      assert.throws(() => native.distAllReduce(pg.handle, [transposed.handle], 'sum', 1024), { message: /^distAllReduce: allReduce needs contiguous tensors, but tensor 0 is not/ });
      assert.throws(() => pg.allReduce(torch.tensor([1, 2], { dtype: 'int64' }), { op: 'avg' }), { message: /op 'avg' needs floating-point tensors, got Long/ });
      assert.throws(() => pg.allReduce(torch.ones([2]), { op: 'prod' as 'sum' }), { name: 'TypeError', message: /op must be 'sum', 'avg', 'max' or 'min', got "prod"/ });
      assert.throws(() => pg.allReduce(torch.ones([2]), { bucketBytes: 0 }), { name: 'RangeError', message: /bucketBytes must be a positive integer/ });
      const gone = torch.ones([2]);
      gone.dispose();
      assert.throws(() => pg.allReduce([torch.ones([2]), gone]), { message: /^allReduce: tensor 1 was already disposed/ });
      assert.throws(() => native.distAllReduce(pg.handle, [gone.handle], 'sum', 1024), { message: /^distAllReduce: argument 1\[0\]: expected a live tensor/ });
    });
    // @ts-expect-error a forged group handle, on purpose
    assert.throws(() => native.distBarrier({}), { message: /^distBarrier: argument 0: expected a process group/ });
    // @ts-expect-error a tensor where a group goes, on purpose
    assert.throws(() => torch.scope(() => native.distBarrier(torch.ones([1]).handle)), { message: /expected a process group/ });
  } finally {
    pg.destroy();
  }
});

test('init options are validated with errors that name the option', () => {
  const base = { rank: 0, worldSize: 2, masterPort: 29500 };
  assert.throws(() => initProcessGroup({ ...base, rank: 2 }), { name: 'RangeError', message: /rank 2 is out of range for worldSize 2 \(ranks are 0\.\.1\)/ });
  assert.throws(() => initProcessGroup({ ...base, worldSize: 0 }), { message: /worldSize must be a positive integer, got 0/ });
  assert.throws(() => initProcessGroup({ ...base, rank: 0.5 }), { message: /rank must be a non-negative integer, got 0.5/ });
  assert.throws(() => initProcessGroup({ ...base, masterPort: 70_000 }), { message: /masterPort must be an integer in 1\.\.65535, got 70000/ });
  assert.throws(() => initProcessGroup({ ...base, timeoutMs: 0 }), { message: /timeoutMs must be a positive integer/ });
  assert.throws(() => initProcessGroup({ ...base, masterAddr: ' ' }), { message: /masterAddr must be a host name or address/ });
  assert.throws(() => initProcessGroup({ ...base, backend: 'mpi' as 'gloo' }), { message: /backend must be 'gloo' or 'nccl', got "mpi"/ });
  // The addon validates on its own as well.
  assert.throws(() => native.distInit('gloo', 3, 2, '127.0.0.1', 29500, 1000), { message: /^distInit: rank 3 is out of range for worldSize 2 \(ranks are 0\.\.1\)/ });
  if (!torch.distributed.availableBackends().nccl) {
    assert.throws(() => initProcessGroup({ ...base, backend: 'nccl' }), { message: /^distInit: this build of the addon has no NCCL: build against a CUDA libtorch/ });
  }
  assert.equal(torch.distributed.availableBackends().gloo, true);
});

test('rendezvousFromEnv reads torchrun\'s variables and names a malformed one', () => {
  assert.equal(rendezvousFromEnv({}), undefined);
  assert.equal(rendezvousFromEnv({ MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' }), undefined);
  assert.deepEqual(rendezvousFromEnv({ RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' }), {
    rank: 3,
    worldSize: 4,
    localRank: 1,
    masterAddr: '10.0.0.1',
    masterPort: 1234,
  });
  assert.deepEqual(rendezvousFromEnv({ RANK: '1', WORLD_SIZE: '2' }), { rank: 1, worldSize: 2, localRank: 1, masterAddr: '127.0.0.1', masterPort: 29500 });
  assert.throws(() => rendezvousFromEnv({ RANK: 'one', WORLD_SIZE: '2' }), /RANK="one" is not a non-negative integer/);
  assert.throws(() => rendezvousFromEnv({ RANK: '0', WORLD_SIZE: '0' }), /WORLD_SIZE="0" is not a positive integer/);
  assert.throws(() => rendezvousFromEnv({ RANK: '2', WORLD_SIZE: '2' }), /RANK=2 is out of range for WORLD_SIZE=2/);
  assert.throws(() => rendezvousFromEnv({ RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '99999' }), /MASTER_PORT="99999" is not a positive integer up to 65535/);
  assert.throws(() => rendezvousFromEnv({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '-1' }), /LOCAL_RANK="-1" is not a non-negative integer/);
  assert.throws(() => rendezvousFromEnv({ RANK: '0' }), /RANK is set but WORLD_SIZE is not/);
  assert.throws(() => rendezvousFromEnv({ WORLD_SIZE: '2' }), /WORLD_SIZE is set but RANK is not/);
});

test('a MASTER_PORT already in use is named, with the fix', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const started = Date.now();
  assert.throws(() => initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 3_000 }), {
    message: new RegExp(`^distInit: MASTER_PORT ${port} on 127\\.0\\.0\\.1 is already in use: choose another --master-port`),
  });
  assert.ok(Date.now() - started < 2_000, 'fails at once, without waiting for the timeout');
});

test('no rendezvous within the timeout: a lone rank 1 and a lone rank 0 both fail in seconds', async (t) => {
  const [alone1, alone0] = await runRanks(t, [
    { scenario: 'init-only', rank: 1, worldSize: 2, port: await freePort(), timeoutMs: 2_000 },
    { scenario: 'init-only', rank: 0, worldSize: 2, port: await freePort(), timeoutMs: 2_000 },
  ]);
  const e1 = step(alone1!, 'init')[0]!;
  assert.match(e1.error ?? '', /^distInit: rank 1 could not reach the rendezvous at 127\.0\.0\.1:\d+ within 2 s: check MASTER_ADDR\/MASTER_PORT and that rank 0 is running/);
  assert.ok(e1.elapsedMs! < 8_000, `rank 1 gave up after ${e1.elapsedMs} ms`); // libtorch 2.x retries with backoff: up to ~5 s for 2 s
  const e0 = step(alone0!, 'init')[0]!;
  assert.match(e0.error ?? '', /^distInit: rank 0 waited 2 s at the rendezvous 127\.0\.0\.1:\d+ but rank 1 \(of worldSize 2\) never joined/);
  assert.ok(e0.elapsedMs! >= 1_900 && e0.elapsedMs! < 4_000, `rank 0 gave up after ${e0.elapsedMs} ms`);
});

test('a world-size mismatch fails on both ranks, naming both values', async (t) => {
  const port = await freePort();
  const [r0, r1] = await runRanks(t, [
    { scenario: 'init-only', rank: 0, worldSize: 2, port, timeoutMs: 5_000 },
    { scenario: 'init-only', rank: 1, worldSize: 3, port, timeoutMs: 5_000 },
  ]);
  assert.match(step(r0!, 'init')[0]!.error ?? '', /world size mismatch: this rank \(0\) was started with worldSize 2 but rank 1 with worldSize 3/);
  assert.match(step(r1!, 'init')[0]!.error ?? '', /world size mismatch: this rank \(1\) was started with worldSize 3 but rank 0 with worldSize 2/);
  assert.ok(step(r0!, 'init')[0]!.elapsedMs! < 4_000, 'without waiting for the timeout');
});

test('two processes started as the same rank: one is told so, the others connect', async (t) => {
  const port = await freePort();
  const results = await runRanks(t, [0, 1, 1].map((rank) => ({ scenario: 'init-only', rank, worldSize: 2, port, timeoutMs: 5_000, hold: true }) as const));
  const errors = results.map((r) => step(r, 'init')[0]!.error).filter((e) => e !== undefined);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0]!, /two processes joined the rendezvous at 127\.0\.0\.1:\d+ as rank 1: give each its own RANK/);
  assert.equal(step(results[0]!, 'done').length, 1, 'rank 0 connected to the other rank 1');
});

test('a rank that dies makes the other rank\'s next allReduce fail with a clear error, not hang', async (t) => {
  const port = await freePort();
  const timeoutMs = 5_000;
  const [r0, r1] = await runRanks(t, [0, 1].map((rank) => ({ scenario: 'dies', rank, worldSize: 2, port, timeoutMs }) as const));
  assert.equal(r1!.code, 3, 'rank 1 exited mid-run');
  assert.deepEqual(step(r0!, 'first')[0]!.output, step(r1!, 'first')[0]!.output);
  const second = step(r0!, 'second')[0]!;
  assert.match(second.error ?? '', /^distAllReduce: allReduce failed on rank 0: (a peer closed its connection \(rank died\?\)|no answer from the other ranks within 5 s)/);
  assert.ok(second.elapsedMs! < timeoutMs + 1_000, `failed after ${second.elapsedMs} ms`);
  assert.equal(r0!.code, 0, 'rank 0 lives on and can exit normally');
  assert.equal(step(r0!, 'done').length, 1);
});
