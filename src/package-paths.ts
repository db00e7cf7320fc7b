// Files that ship inside the package, found from this module's own location, so that they resolve
// from any working folder: src/ in a checkout and dist/ in an installed package sit at the same
// depth below the package root.

import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The embedded default model (models/arith-mixed), as an absolute path. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../models/arith-mixed', import.meta.url));

/** package.json's version. */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(manifest.version);
}

/** A path for messages: relative to the working folder when it lies below it, else as it is. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const below = relative(cwd, path);
  return below !== '' && !below.startsWith('..') && !isAbsolute(below) ? below : path;
}
