// Loads the native addon (native/, built by scripts/setup.sh or at the package's install). The only
// module that touches it.
//
// BLAS must be configured before the addon's libraries load: see blas-env.ts.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { configureBlasEnvironment, type BlasEnvironment } from './blas-env.ts';
import type { NativeAddon } from './native-api.ts';

// The addon's typed face (its functions, handle types and conventions) is declared in native-api.ts.
export type * from './native-api.ts';

const addonPath = fileURLToPath(new URL('../../native/build/Release/intuitor_native.node', import.meta.url));
// A source checkout builds the addon with scripts/setup.sh; an installed package at its install step.
const inCheckout = existsSync(fileURLToPath(new URL('../../scripts/setup.sh', import.meta.url)));
const buildCommand = inCheckout ? '`npm run setup` (scripts/setup.sh), which finds libtorch and builds it' : '`npm rebuild intuitor`, which finds libtorch and builds it';
const rebuildCommand = inCheckout ? '`npm run build:native`' : '`npm rebuild intuitor`';

export const blasEnvironment: BlasEnvironment = configureBlasEnvironment();

function load(): NativeAddon {
  if (!existsSync(addonPath)) return unavailable(`intuitor's native addon is not built (${addonPath} is missing): run ${buildCommand}`);
  const require = createRequire(import.meta.url);
  try {
    return require(addonPath) as NativeAddon;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return unavailable(`could not load intuitor's native addon (${addonPath}): ${message}\nRebuild it against the libtorch on this machine: ${rebuildCommand}`);
  }
}

/**
 * An addon that throws `reason` from its first use, so that what needs no tensor (--help,
 * --version, eval, report) still runs where the addon cannot load.
 */
function unavailable(reason: string): NativeAddon {
  loadError = reason;
  return new Proxy({} as NativeAddon, {
    get(_target, name) {
      if (typeof name === 'symbol' || name === 'then') return undefined; // not a thenable, not inspected
      throw new Error(reason);
    },
  });
}

let loadError: string | undefined;
export const native: NativeAddon = load();
/** Why the addon could not load (undefined when it did). */
export const nativeLoadError: string | undefined = loadError;
