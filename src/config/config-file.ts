// Configuration fields read from JSON (a `--config FILE`, a run's saved config.json), checked
// against the flag specs with the file and field named: a string where a number belongs
// ("steps": "2") or null is an error naming the expected type, never a silent default or a
// training that misreads it; an unknown field gets the nearest known spelling
// (learning_rate -> learningRate).

import { describeValue, readJsonObject } from './json-file.ts';
import { closestName } from './did-you-mean.ts';
import { expectedType, numberProblem, type FlagSpecs } from './flags.ts';

/** Checks each field of `fields` (read from `source`) against `specs`; returns them unchanged. */
export function checkConfigFields(specs: FlagSpecs, fields: Record<string, unknown>, source: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const spec = specs[key];
    if (spec === undefined) {
      unknown.push(key);
      continue;
    }
    const expected = expectedType(spec);
    const found = describeValue(value);
    if (value === null) {
      const fallback = spec.default === undefined ? '' : ` (${JSON.stringify(spec.default)})`;
      throw new Error(`${source}: ${key}: expected ${expected}, found null; leave the field out for the default${fallback}`);
    }
    if (spec.type === 'boolean' ? typeof value !== 'boolean' : spec.type === 'string' ? typeof value !== 'string' : typeof value !== 'number') {
      throw new Error(`${source}: ${key}: expected ${expected}, found ${found}`);
    }
    if (spec.type === 'string' && spec.choices && !spec.choices.includes(value as string)) throw new Error(`${source}: ${key}: expected ${expected}, found ${found}`);
    const problem = spec.type === 'int' || spec.type === 'number' ? numberProblem(spec, value as number) : undefined;
    if (problem) throw new Error(`${source}: ${key}: ${problem}, found ${value}`);
    out[key] = value;
  }
  if (unknown.length > 0) {
    const guesses = unknown.flatMap((key) => {
      const close = closestName(key, Object.keys(specs));
      return close === undefined ? [] : [unknown.length > 1 ? `${close} for ${key}` : close];
    });
    const hint = guesses.length > 0 ? `did you mean ${guesses.join(', ')}?` : 'e.g. numGenerations';
    throw new Error(`${source}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the fields are the flags in camelCase (${hint})`);
  }
  return out;
}

/** A JSON file of configuration fields, checked (see checkConfigFields). */
export function readConfigFile(specs: FlagSpecs, path: string, what = 'configuration file'): Record<string, unknown> {
  return checkConfigFields(specs, readJsonObject(path, what), path);
}
