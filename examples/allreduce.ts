// Two processes sum a tensor with torch.distributed (Gloo over loopback), started the way torchrun
// starts workers: each learns its rank from RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT.
//
//   node --import tsx examples/allreduce.ts          (starts rank 0 and rank 1 itself)

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.ts';

const rendezvous = torch.distributed.rendezvousFromEnv();
if (rendezvous === undefined) {
  // The launcher: one child per rank, on a free port.
  const port = await torch.distributed.freeLoopbackPort();
  const self = fileURLToPath(import.meta.url);
  const codes = await Promise.all([0, 1].map((rank) => new Promise<number | null>((resolve) => {
    const env = { ...process.env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
    spawn(process.execPath, ['--import', 'tsx', self], { env, stdio: 'inherit' }).on('close', resolve);
  })));
  process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
} else {
  using group = torch.distributed.initProcessGroup({ ...rendezvous, backend: 'gloo', timeoutMs: 30_000 });
  torch.scope(() => {
    const x = torch.full([3], group.rank + 1); // rank 0: [1, 1, 1], rank 1: [2, 2, 2]
    group.allReduce(x, { op: 'sum' }); // in place: [3, 3, 3] on both
    const gathered = group.allGather(torch.tensor([group.rank * 10]));
    console.log(`rank ${group.rank}: sum ${x.tolist()}, gathered ${gathered.map((t) => t.item())}`);
  });
}
