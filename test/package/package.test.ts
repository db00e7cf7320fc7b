// The package as a user installs it: `npm pack`, then `npm install ./intuitor-*.tgz` in an empty
// folder, which builds the addon at install; then the CLI and a TypeScript script run against the
// installed package (compiled JavaScript and .d.ts, no tsx, no source tree).
//
// The pack runs in a temporary copy of the project so that the build output (dist/) never lands in
// the working tree. This is the slowest test (the addon compiles once more, about a minute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; files: string[] };

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
}
const shown = (run: SpawnSyncReturns<string>) => `exit ${run.status ?? run.signal}\n${run.stdout}\n${run.stderr}`.slice(-4000);

/** The project's files as `npm pack` sees them (what package.json's files lists, and what builds it). */
function copyProject(to: string): void {
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'bin', 'src', 'scripts', 'native/binding.gyp', 'native/src', 'models/arith-mixed']) {
    cpSync(join(repo, entry), join(to, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(to, 'node_modules')); // tsc for prepack
}

/** README's library example, run as written (the ```ts block after its marker). */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /<!-- library example -->\n```ts\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(block, 'README.md has no library example block');
  return block[1]!;
}

// Beside the example, what else a user imports: a subpath, the trainer, the types.
const subpathCheck = `
import * as torch from 'intuitor/torch';
import { train, type GeneratedSequence } from 'intuitor';
const none: GeneratedSequence[] = [];
console.log(JSON.stringify({ train: typeof train, sum: torch.tensor([1, 2, 3]).sum().item(), none: none.length }));
`;

test('npm pack -> npm install in an empty folder: the CLI and a typed library script run from the installed package', { timeout: 900_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'intuitor-package-'));
  try {
    const project = join(root, 'project');
    mkdirSync(join(project, 'native'), { recursive: true });
    mkdirSync(join(project, 'models'), { recursive: true });
    copyProject(project);
    const pack = sh('npm', ['pack', '--silent', '--pack-destination', root], project);
    assert.equal(pack.status, 0, shown(pack));
    const tarball = join(root, `intuitor-${manifest.version}.tgz`);
    assert.ok(existsSync(tarball), `no ${tarball}: ${readdirSync(root).join(', ')}`);

    const app = join(root, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    // With Node's types, as a TypeScript project on Node has them (the declarations use node:stream).
    const nodeTypes = `@types/node@${JSON.parse(readFileSync(join(repo, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version}`;
    const install = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, nodeTypes], app);
    assert.equal(install.status, 0, shown(install));
    const installed = join(app, 'node_modules', 'intuitor');
    assert.ok(existsSync(join(installed, 'native', 'build', 'Release', 'intuitor_native.node')), 'the install hook built the addon');
    assert.ok(!existsSync(join(installed, 'src')), 'the package ships compiled JavaScript, not the sources');
    assert.ok(!existsSync(join(app, 'node_modules', 'tsx')), 'tsx is not installed with the package');

    const cli = (...args: string[]) => sh(join(app, 'node_modules', '.bin', 'intuitor'), args, app);
    const version = cli('--version');
    assert.equal(version.status, 0, shown(version));
    assert.equal(version.stdout.trim(), manifest.version);
    const help = cli('generate', '--help');
    assert.match(help.stdout, /--device <text>/);
    const generated = cli('generate', '--model', join(installed, 'models', 'arith-mixed'), '--chat', '--prompt', '3 + 4 =', '--temperature', '0', '--max-new-tokens', '40');
    assert.equal(generated.status, 0, shown(generated));
    assert.match(generated.stdout, /\d/);
    assert.match(generated.stderr, /tokens\/s/);

    // A TypeScript user: README's example and a subpath import, type-checked against the installed
    // .d.ts, then run as JavaScript.
    writeFileSync(join(app, 'example.ts'), readmeLibraryExample());
    writeFileSync(join(app, 'subpath.ts'), subpathCheck);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: false, types: ['node'] }, files: ['example.ts', 'subpath.ts'] }));
    const tsc = sh(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
    assert.equal(tsc.status, 0, shown(tsc));
    const example = sh(process.execPath, [join(app, 'out', 'example.js')], app);
    assert.equal(example.status, 0, shown(example));
    const [, answer, index, certainties] = /^answer (\S+) from sample (\d+); self-certainties (.+)$/m.exec(example.stdout) ?? [];
    assert.ok(answer !== undefined, `unexpected output: ${example.stdout}`);
    assert.ok(Number(index) >= 0 && Number(index) < 8);
    const values = certainties!.split(' ').map(Number);
    assert.equal(values.length, 8);
    assert.ok(values.every((v) => Number.isFinite(v) && v > 0), certainties);
    const subpath = sh(process.execPath, [join(app, 'out', 'subpath.js')], app);
    assert.equal(subpath.status, 0, shown(subpath));
    assert.deepEqual(JSON.parse(subpath.stdout), { train: 'function', sum: 6, none: 0 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without a built addon, --help and --version still run, and the first tensor operation says how to build it', () => {
  const root = mkdtempSync(join(tmpdir(), 'intuitor-no-addon-'));
  try {
    for (const entry of ['package.json', 'tsconfig.json', 'bin', 'src', 'scripts', 'models/arith-mixed']) cpSync(join(repo, entry), join(root, entry), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    const cli = (...args: string[]) => sh(process.execPath, [join(root, 'bin', 'intuitor.mjs'), ...args], root);
    assert.match(cli('--help').stdout, /Usage: intuitor/);
    assert.equal(cli('--version').stdout.trim(), manifest.version);
    const generate = cli('generate', '--model', join(root, 'models', 'arith-mixed'), '--prompt', '1 + 1 =');
    assert.equal(generate.status, 1);
    assert.match(generate.stderr, /intuitor's native addon is not built \(.*intuitor_native\.node is missing\): run `npm run setup`/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
