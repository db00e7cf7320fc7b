// The benchmarks' Python side, with fake interpreters (shell scripts): a Python that cannot import
// torch is caught before any baseline starts, with the fix to apply (or an install through an
// injected installer: nothing is installed for real), and a Python child that dies shows why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstaller, ensurePythonTorch, lastLines, PythonSide, requirePython, spawnPython, stderrTailLines, type TorchInstaller } from '../../bench/harness.ts';

const work = mkdtempSync(join(tmpdir(), 'intuitor-fake-python-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const probeAnswer = `echo '{"torch": "0.0.0-fake", "cuda": false, "cudaDevices": 0, "deviceName": null}'`;
let count = 0;
/** An executable shell script standing in for python: `probe` answers `python -c <torch probe>`, `run` the rest. */
function fakePython(probe: string, run: string): string {
  const path = join(work, `python-${++count}`);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "-c" ]; then\n${probe}\nfi\n${run}\n`);
  chmodSync(path, 0o755);
  return path;
}
const noTorch = `echo 'Traceback (most recent call last):' >&2; echo "ModuleNotFoundError: No module named 'torch'" >&2; exit 1`;

/** An installer that must not be used: the tests never install anything. */
const refusing: TorchInstaller = {
  whyNot: () => 'installing is off in this test',
  install: () => assert.fail('the installer was called'),
};

test('a Python without torch is refused before the baseline starts, with the apt command and INTUITOR_PYTHON', () => {
  const python = fakePython(noTorch, 'echo "the script ran" >&2; exit 0');
  assert.throws(() => ensurePythonTorch(python, refusing), (e: Error) => {
    assert.ok(e.message.includes(`${python} cannot import torch: ModuleNotFoundError: No module named 'torch'`), e.message);
    assert.match(e.message, /installing is off in this test/);
    assert.match(e.message, /^ {2}sudo apt-get install -y python3-torch$/m);
    assert.match(e.message, /INTUITOR_PYTHON=/);
    return true;
  });
  // PythonSide and spawnPython check first: no child is started for a Python without torch.
  assert.throws(() => new PythonSide('engine.py', {}, process.env, undefined, python, refusing), /cannot import torch/);
  assert.throws(() => spawnPython('engine.py', [], { env: process.env, python, installer: refusing }), /cannot import torch/);
});

test('INTUITOR_PYTHON without torch: the message says to install torch into it or to unset it', () => {
  const python = fakePython(noTorch, 'exit 0');
  const saved = process.env.INTUITOR_PYTHON;
  process.env.INTUITOR_PYTHON = python;
  try {
    assert.throws(() => requirePython(false, refusing), (e: Error) => {
      assert.ok(e.message.includes(`INTUITOR_PYTHON=${python} cannot import torch`), e.message);
      assert.ok(e.message.includes(`${python} -m pip install torch`), e.message);
      assert.match(e.message, /sudo apt-get install -y python3-torch/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.INTUITOR_PYTHON;
    else process.env.INTUITOR_PYTHON = saved;
  }
});

test('the apt installer never installs for a Python that is not the system one, nor with INTUITOR_BENCH_APT=0', () => {
  const python = fakePython(noTorch, 'exit 0');
  assert.match(aptInstaller.whyNot(python)!, /is not Debian's system Python/);
  assert.throws(() => ensurePythonTorch(python), /not installed automatically: .* is not Debian's system Python/);
  const saved = process.env.INTUITOR_BENCH_APT;
  process.env.INTUITOR_BENCH_APT = '0';
  try {
    assert.match(aptInstaller.whyNot('/usr/bin/python3')!, /INTUITOR_BENCH_APT=0/);
  } finally {
    if (saved === undefined) delete process.env.INTUITOR_BENCH_APT;
    else process.env.INTUITOR_BENCH_APT = saved;
  }
});

test('where installing is possible, torch is installed once and the Python is probed again', () => {
  const marker = join(work, 'torch-installed');
  const python = fakePython(`if [ -e '${marker}' ]; then ${probeAnswer}; exit 0; fi; ${noTorch}`, 'exit 0');
  let installs = 0;
  const installer: TorchInstaller = { whyNot: () => undefined, install: () => (installs++, writeFileSync(marker, '')) };
  assert.equal(ensurePythonTorch(python, installer).torch, '0.0.0-fake');
  assert.equal(installs, 1);
  assert.ok(existsSync(marker));
  assert.equal(ensurePythonTorch(python, installer).torch, '0.0.0-fake'); // known good: not probed or installed again
  assert.equal(installs, 1);

  const stillBroken = fakePython(noTorch, 'exit 0');
  assert.throws(() => ensurePythonTorch(stillBroken, { whyNot: () => undefined, install: () => {} }), /still cannot import torch after installing python3-torch/);
  assert.throws(() => ensurePythonTorch(fakePython(noTorch, 'exit 0'), { whyNot: () => undefined, install: () => { throw new Error('apt-get failed (exit code 100)'); } }), /apt-get failed/);
});

test('a Python child that exits with an error shows the last 40 lines of its stderr', async () => {
  const python = fakePython(`${probeAnswer}; exit 0`, 'for i in $(seq 1 60); do echo "warning line $i" >&2; done; echo "RuntimeError: fake failure" >&2; exit 1');
  const side = new PythonSide('engine.py', { threads: 1 }, process.env, undefined, python);
  await assert.rejects(side.call({ cmd: 'info' }), (e: Error) => {
    assert.ok(e.message.startsWith(`bench/engine.py (${python}) exited with code 1 while answering {"cmd":"info"}`), e.message);
    assert.match(e.message, /^ {2}\| RuntimeError: fake failure$/m);
    const shown = e.message.split('\n').filter((l) => l.startsWith('  | '));
    assert.equal(shown.length, stderrTailLines);
    assert.match(e.message, /\| warning line 22$/m);
    assert.doesNotMatch(e.message, /\| warning line 21$/m);
    return true;
  });
  await side.close();
});

test('a Python child killed by a signal, or gone before reading its input, says so', async () => {
  const killed = fakePython(`${probeAnswer}; exit 0`, 'echo "about to die" >&2; kill -9 $$');
  const side = new PythonSide('generate.py', {}, process.env, 20, killed);
  await assert.rejects(side.call({ cmd: 'info', padding: 'x'.repeat(100) }), (e: Error) => {
    assert.match(e.message, /^bench\/generate\.py \(.*\) was killed by SIGKILL while answering \{"cmd":"info","padd\w*(?: \(writing to it failed: [^)]*\))?; /);
    assert.match(e.message, /\| about to die/);
    return true;
  });

  // It never reads stdin: a command larger than a pipe holds fails to be written (a broken pipe).
  const deaf = fakePython(`${probeAnswer}; exit 0`, 'exit 0');
  const other = new PythonSide('train.py', {}, process.env, 40, deaf);
  await assert.rejects(other.call({ cmd: 'step', data: 'y'.repeat(1 << 20) }), (e: Error) => {
    assert.match(e.message, /^bench\/train\.py \(.*\) exited with code 0 while answering \{"cmd":"step","data":"y+ \(writing to it failed: write EPIPE\); /);
    assert.match(e.message, /it printed nothing on stderr/);
    return true;
  });
});

test('spawnPython reports a script that dies in the middle of its output', async () => {
  const python = fakePython(`${probeAnswer}; exit 0`, 'echo "{\\"partial\\": 1}"; echo "Segmentation fault" >&2; exit 139');
  const py = spawnPython('certainty.py', ['{}'], { env: process.env, python, stdin: 'ignore' });
  let stdout = '';
  for await (const chunk of py.child.stdout!) stdout += String(chunk);
  assert.equal(stdout, '{"partial": 1}\n');
  assert.deepEqual((await py.exited).code, 139);
  const error = await py.failure('during the memory probe');
  assert.match(error.message, /exited with code 139 during the memory probe; the last lines of its stderr:\n {2}\| Segmentation fault$/);
});

test('lastLines keeps the last n lines, a final newline included', () => {
  assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc\n');
  assert.equal(lastLines('a\nb\nc', 2), 'b\nc');
  assert.equal(lastLines('a\n', 2), 'a\n');
  assert.equal(lastLines('', 2), '');
});
