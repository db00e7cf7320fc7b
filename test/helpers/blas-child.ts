// Run in a child process by blas.test.ts, so that the BLAS environment is decided afresh:
// prints the BLAS core in use and the error of a matmul against a float64 JS reference.
import * as torch from '../../src/torch/index.ts';

const [m, k, n] = [257, 263, 129]; // odd sizes exercise the kernels' edge handling
const generator = new torch.Generator(7);
const a = torch.randn([m, k], { generator });
const b = torch.randn([k, n], { generator });
const got = a.matmul(b).toFloat64Array();
const av = a.toFloat64Array();
const bv = b.toFloat64Array();
let maxError = 0;
for (let i = 0; i < m; i++) {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let p = 0; p < k; p++) sum += av[i * k + p]! * bv[p * n + j]!;
    maxError = Math.max(maxError, Math.abs(sum - got[i * n + j]!));
  }
}
const info = torch.runtimeInfo();
console.log(JSON.stringify({ blasCore: info.blasCore, source: info.blasCoretypeSource, env: process.env.OPENBLAS_CORETYPE ?? null, maxError }));
