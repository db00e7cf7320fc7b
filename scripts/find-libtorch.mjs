#!/usr/bin/env node
// Finds the libtorch that the addon compiles and links against, in this order:
//   1. $LIBTORCH: a folder with include/ and lib/ (an unpacked libtorch archive);
//   2. the folder of a Python `torch` package (pip CUDA builds live there), via $PYTHON or python3;
//   3. the system (Debian/Ubuntu `libtorch-dev`: headers in /usr/include, libraries in the multiarch dir).
//
// It also says whether c10d (distributed) can be built: with Gloo, and with NCCL on a CUDA libtorch.
//
// Usage: node scripts/find-libtorch.mjs [json|include|libdir|libs|defines|ldflags]
// Without an argument prints the JSON description. Exits 1 with a message when none is found.
// binding.gyp calls it once per field, so every answer must be cheap and deterministic.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

function hasHeaders(includeDir) {
  return existsSync(join(includeDir, 'ATen', 'ATen.h')) && existsSync(join(includeDir, 'torch', 'csrc', 'api', 'include'));
}

function fromFolder(root, source) {
  const include = join(root, 'include');
  const libdir = join(root, 'lib');
  if (!hasHeaders(include) || !existsSync(join(libdir, 'libc10.so'))) return null;
  // Debian's python3-torch folder is only symlinks into the system install: call that the system.
  const realLibdir = dirname(realpathSync(join(libdir, 'libc10.so')));
  if (realLibdir !== libdir && fromSystem()?.libdir === realLibdir) return null;
  return { source, root, include, libdir };
}

function fromPython() {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  for (const python of candidates) {
    try {
      const out = execFileSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      }).trim();
      // Debian's python3-torch has no include/ of its own: it uses the system headers (case 3).
      const found = out && fromFolder(out, `python torch package (${python})`);
      if (found) return found;
    } catch {
      // no python or no torch in it: try the next one
    }
  }
  return null;
}

function fromSystem() {
  const include = '/usr/include';
  if (!hasHeaders(include)) return null;
  let multiarch = '';
  try {
    multiarch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    multiarch = 'x86_64-linux-gnu';
  }
  for (const libdir of [join('/usr/lib', multiarch), '/usr/lib', '/usr/lib64']) {
    if (existsSync(join(libdir, 'libc10.so'))) return { source: 'system (libtorch-dev)', root: '/usr', include, libdir };
  }
  return null;
}

// The C++ string ABI of the library must match ours, or linking fails (or worse, at run time).
// A library built with the new ABI exports symbols in the std::__cxx11 namespace.
function cxx11Abi(libdir) {
  try {
    const symbols = execFileSync('nm', ['-D', '--defined-only', join(libdir, 'libc10.so')], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return symbols.includes('__cxx11') ? 1 : 0;
  } catch {
    return 1;
  }
}

// c10d (PyTorch's distributed runtime) with Gloo needs libtorch's c10d headers and Gloo's own;
// pip torch wheels do not ship the latter, so the system's (/usr/include, libgloo-dev) count too.
// NCCL, for a CUDA libtorch, needs nccl.h (the torch include folder, the pip package nvidia-nccl
// beside torch, CUDA's or the system's) and CUDA's headers, which ProcessGroupNCCL.hpp includes:
// a toolkit's (CUDA_HOME, /usr/local/cuda) when complete, else those of the pip nvidia-* packages.
// INTUITOR_NCCL=0 builds without NCCL (Gloo only), should its headers not compile.
function findDistributed(found, cuda) {
  const c10d = join(found.include, 'torch', 'csrc', 'distributed', 'c10d');
  const hasC10d = ['ProcessGroupGloo.hpp', 'TCPStore.hpp', 'PrefixStore.hpp'].every((f) => existsSync(join(c10d, f)));
  const glooInclude = [found.include, '/usr/include'].find((dir) => existsSync(join(dir, 'gloo', 'algorithm.h')));
  const gloo = hasC10d && glooInclude !== undefined;
  const result = { gloo, nccl: false, includes: [], why: gloo ? undefined : hasC10d ? 'no Gloo headers (install libgloo-dev)' : `no c10d headers in ${c10d}` };
  if (!gloo) return result;
  if (!cuda) return { ...result, why: 'no NCCL: this libtorch has no CUDA' };
  if (process.env.INTUITOR_NCCL === '0') return { ...result, why: 'no NCCL: turned off by INTUITOR_NCCL=0' };
  if (!existsSync(join(c10d, 'ProcessGroupNCCL.hpp'))) return { ...result, why: 'no NCCL: no ProcessGroupNCCL.hpp in the libtorch headers' };
  const nvidia = join(dirname(found.root), 'nvidia'); // <site-packages>/nvidia beside <site-packages>/torch
  const nvidiaIncludes = existsSync(nvidia) ? readdirSync(nvidia).map((d) => join(nvidia, d, 'include')).filter((d) => existsSync(d)) : [];
  const toolkits = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter(Boolean).map((home) => join(home, 'include'));
  const has = (dirs, file) => dirs.some((dir) => existsSync(join(dir, file)));
  const complete = (dirs) => has(dirs, 'cuda_runtime_api.h') && has(dirs, join('crt', 'host_config.h'));
  const toolkit = toolkits.find((dir) => complete([dir]));
  const cudaIncludes = toolkit ? [toolkit] : complete(nvidiaIncludes) ? nvidiaIncludes : complete(['/usr/include']) ? ['/usr/include'] : undefined;
  const ncclCandidates = [found.include, join(nvidia, 'nccl', 'include'), ...toolkits, '/usr/include'];
  const ncclInclude = ncclCandidates.find((dir) => existsSync(join(dir, 'nccl.h')));
  if (!ncclInclude) return { ...result, why: `no NCCL: nccl.h not found in ${ncclCandidates.join(', ')}` };
  if (!cudaIncludes) return { ...result, why: `no NCCL: CUDA's headers (cuda_runtime_api.h, crt/host_config.h) not found in ${[...toolkits, ...nvidiaIncludes].join(', ')}: set CUDA_HOME` };
  const includes = [...new Set([ncclInclude, ...cudaIncludes])].filter((dir) => dir !== found.include && dir !== '/usr/include');
  return { gloo, nccl: true, includes, why: undefined };
}

export function findLibtorch() {
  // scripts/setup.sh finds it once and passes the answer down to node-gyp (one lookup, not one per field).
  if (process.env.INTUITOR_LIBTORCH_JSON) return JSON.parse(process.env.INTUITOR_LIBTORCH_JSON);
  let found = null;
  if (process.env.LIBTORCH) {
    found = fromFolder(process.env.LIBTORCH, 'LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libc10.so: point it at an unpacked libtorch folder`);
  }
  found = found ?? fromPython() ?? fromSystem();
  if (!found) return null;
  const libs = readdirSync(found.libdir);
  const cuda = libs.includes('libtorch_cuda.so');
  return { ...found, cuda, cxx11Abi: cxx11Abi(found.libdir), system: found.root === '/usr', distributed: findDistributed(found, cuda) };
}

function main() {
  const what = process.argv[2] ?? 'json';
  let info;
  try {
    info = findLibtorch();
  } catch (e) {
    console.error(String(e.message ?? e));
    process.exit(1);
  }
  if (!info) {
    console.error('libtorch not found: set LIBTORCH, install a Python torch package, or install Debian/Ubuntu libtorch-dev');
    process.exit(1);
  }
  const distributed = info.distributed ?? { gloo: false, nccl: false, includes: [] };
  const includes = [info.include, join(info.include, 'torch', 'csrc', 'api', 'include'), ...distributed.includes];
  const distributedDefines = [
    ...(distributed.gloo ? ['INTUITOR_WITH_GLOO=1', 'USE_C10D_GLOO'] : []),
    ...(distributed.nccl ? ['INTUITOR_WITH_NCCL=1', 'USE_C10D_NCCL'] : []),
  ];
  const libs = ['-lc10', '-ltorch_cpu', '-ltorch', ...(info.cuda ? ['-lc10_cuda', '-ltorch_cuda'] : [])];
  const answers = {
    json: JSON.stringify(info),
    include: includes.join(' '),
    libdir: info.libdir,
    libs: libs.join(' '),
    defines: [`_GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi}`, ...(info.cuda ? ['INTUITOR_WITH_CUDA=1'] : []), ...distributedDefines].join(' '),
    // -z now: a mismatched library fails when the addon loads, not at the first call that needs it.
    // --no-as-needed: libtorch.so and libtorch_cuda.so register kernels and hooks from their static
    // initialisers; the addon names few of their symbols directly, so the linker would drop them.
    ldflags: ['-Wl,-z,now', '-Wl,--no-as-needed', ...(info.system ? [] : [`-Wl,-rpath,${info.libdir}`])].join(' '),
  };
  if (!(what in answers)) {
    console.error(`unknown field "${what}"; expected one of ${Object.keys(answers).join(', ')}`);
    process.exit(2);
  }
  console.log(answers[what]);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
