// Loads the native addon (native/, built by scripts/setup.sh). The only module that touches it.
//
// BLAS must be configured before the addon's libraries load: see blas-env.ts.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { configureBlasEnvironment, type BlasEnvironment } from './blas-env.ts';

/** An opaque, type-tagged handle to a native at::Tensor (or generator). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

/**
 * The addon's functions. Arguments are positional and validated natively; every native error
 * arrives as a JS Error whose message starts with the function's name.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any>;

const addonPath = fileURLToPath(new URL('../../native/build/Release/intuitor_native.node', import.meta.url));

export const blasEnvironment: BlasEnvironment = configureBlasEnvironment();

function load(): NativeAddon {
  if (!existsSync(addonPath)) {
    throw new Error(`intuitor's native addon is not built (${addonPath} is missing): run \`npm run setup\` (scripts/setup.sh), which finds libtorch and builds it`);
  }
  const require = createRequire(import.meta.url);
  try {
    return require(addonPath) as NativeAddon;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`could not load intuitor's native addon (${addonPath}): ${message}\nRebuild it against the libtorch on this machine: \`npm run build:native\``);
  }
}

export const native: NativeAddon = load();
