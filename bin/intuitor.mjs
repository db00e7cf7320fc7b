#!/usr/bin/env node
// The `intuitor` command. In a source checkout it runs the TypeScript sources through tsx's
// loader; an installed package has only the compiled JavaScript (dist/, made by `npm pack`).
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (fromSource) (await import('tsx/esm/api')).register();
const { main } = await import(fromSource ? '../src/cli/main.ts' : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
