#!/usr/bin/env node
// Builds the native addon (native/) with node-gyp against the libtorch scripts/find-libtorch.mjs
// finds, and the headers of the Node that runs it (no download).
//
//   node scripts/build-addon.mjs [--rebuild]   from scripts/setup.sh in a source checkout, once
//                                              libtorch is there and node_modules is installed
//   node scripts/build-addon.mjs --install     npm's install hook of the packed package: also checks
//                                              the compiler and libtorch first, installing them with
//                                              apt as root, else printing the exact command; in a
//                                              source checkout it does nothing (setup.sh builds)
//
// Exits 1 with a message that says what to do when something is missing or the build fails.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const installHook = args.includes('--install');
const rebuild = args.includes('--rebuild') || installHook;

/** Debian/Ubuntu packages: libtorch (+ a fast BLAS and Gloo's headers for torch.distributed), and a compiler. */
const LIBTORCH_APT_PACKAGES = ['libtorch-dev', 'libopenblas0-pthread', 'libgloo-dev'];
const COMPILER_APT_PACKAGES = ['g++', 'make', 'python3'];

const log = (message) => console.error(`[intuitor] ${message}`);
function fail(message) {
  console.error(`[intuitor] error: ${message}`);
  process.exit(1);
}

const canApt = () => process.getuid?.() === 0 && onPath('apt-get');
function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
function aptInstall(packages) {
  log(`installing ${packages.join(' ')} with apt (a few minutes, once)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...packages]]) {
    const run = spawnSync('apt-get', command, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0) fail(`apt-get ${command.join(' ')} failed (exit ${run.status ?? run.signal})`);
  }
}
/** Installs `packages` as root, or stops with the command that would. */
function requirePackages(what, packages) {
  if (!canApt()) {
    fail(`${what}. Install it with:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(' ')}
  then build the addon again with: ${installHook ? 'npm rebuild intuitor' : 'npm run build:native'}`);
  }
  aptInstall(packages);
}

function findLibtorch() {
  try {
    return execFileSync(process.execPath, [join(root, 'scripts', 'find-libtorch.mjs'), 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

function nodeGypCommand() {
  // npm gives install hooks its own node-gyp; a checkout has it in node_modules (a devDependency).
  const local = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(local)) return [process.execPath, local];
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && existsSync(npmGyp)) return npmGyp.endsWith('.js') ? [process.execPath, npmGyp] : [npmGyp];
  if (onPath('node-gyp')) return ['node-gyp'];
  return fail('node-gyp was not found (npm ships one; run this through `npm rebuild intuitor`, or install it: npm install -g node-gyp)');
}

if (installHook && existsSync(join(root, 'src', 'cli', 'main.ts'))) process.exit(0);

if (installHook) {
  const missing = COMPILER_APT_PACKAGES.filter((tool) => !onPath(tool));
  if (missing.length > 0) requirePackages(`the addon needs a C++ compiler, make and python3 (node-gyp's), and ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`, COMPILER_APT_PACKAGES);
  if (findLibtorch() === undefined && !process.env.LIBTORCH) requirePackages('libtorch (PyTorch\'s C++ library) was not found: no LIBTORCH, no Python torch package, no system libtorch-dev', LIBTORCH_APT_PACKAGES);
}

const libtorchJson = process.env.INTUITOR_LIBTORCH_JSON || findLibtorch();
if (libtorchJson === undefined) {
  spawnSync(process.execPath, [join(root, 'scripts', 'find-libtorch.mjs'), 'json'], { stdio: ['ignore', 'ignore', 'inherit'] }); // says why
  fail('libtorch still not found; set LIBTORCH to an unpacked libtorch folder (with include/ and lib/), or install Debian/Ubuntu libtorch-dev');
}

// Build against the headers of the Node that runs us (no download): <prefix>/include/node.
const nodePrefix = dirname(dirname(process.execPath));
const gypArgs = [...(rebuild ? ['rebuild'] : ['configure', 'build']), '--directory=native', `--jobs=${availableParallelism()}`];
if (existsSync(join(nodePrefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodePrefix}`);
else log(`warning: no Node headers under ${nodePrefix}/include/node; node-gyp will look for its own copy`);

log('building the native addon (about a minute)');
const [gyp, ...gypLead] = nodeGypCommand();
const logFile = join(root, 'native', 'build.log');
const build = spawnSync(gyp, [...gypLead, ...gypArgs], { cwd: root, env: { ...process.env, INTUITOR_LIBTORCH_JSON: libtorchJson }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
writeFileSync(logFile, `${build.stdout ?? ''}${build.stderr ?? ''}`);
if (build.status !== 0) {
  const errors = readFileSync(logFile, 'utf8').split('\n').filter((line) => /error/i.test(line)).slice(0, 20);
  console.error(errors.join('\n'));
  fail(`the native addon did not build (node-gyp exit ${build.status ?? build.signal}); the full log is in ${logFile}`);
}
rmSync(logFile, { force: true });
log('native addon built');
