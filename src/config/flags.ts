// Command-line flags defined once: name, type, default, bounds and help. The same spec registers
// the flag with commander, parses its text, and validates it with a message that names the flag.

import { Option, type Command } from 'commander';
import { closestName } from './did-you-mean.ts';

export type FlagSpec =
  | { type: 'string'; help: string; default?: string; required?: boolean; choices?: readonly string[]; deprecatedAlias?: string }
  | { type: 'int'; help: string; default?: number; min?: number; max?: number }
  | { type: 'number'; help: string; default?: number; min?: number; max?: number; exclusiveMin?: boolean }
  | { type: 'boolean'; help: string; default?: boolean };

export type FlagSpecs = Record<string, FlagSpec>;

/** The text a string spec parses to: one of its choices when it has them. */
type StringValue<F> = F extends { choices: readonly (infer C extends string)[] } ? C : string;

/** The TypeScript type of the values a spec parses to. */
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { type: 'string' } ? (S[K] extends { default: string } | { required: true } ? StringValue<S[K]> : StringValue<S[K]> | undefined) : S[K] extends { default: number } ? number : number | undefined;
};

/** camelCase name -> --kebab-case flag */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What is wrong with a number for a spec ("must be >= 1"), or undefined. */
export function numberProblem(spec: Extract<FlagSpec, { type: 'int' | 'number' }>, value: number): string | undefined {
  if (!Number.isFinite(value)) return 'must be a finite number';
  if (spec.type === 'int' && !Number.isInteger(value)) return 'must be an integer';
  const exclusive = 'exclusiveMin' in spec && spec.exclusiveMin === true;
  if (spec.min !== undefined && (value < spec.min || (exclusive && value === spec.min))) return `must be ${exclusive ? '>' : '>='} ${spec.min}`;
  if (spec.max !== undefined && value > spec.max) return `must be <= ${spec.max}`;
  return undefined;
}

function parseNumber(key: string, spec: Extract<FlagSpec, { type: 'int' | 'number' }>, text: string): number {
  const value = Number(text);
  const flag = flagName(key);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`${flag} expects a number, got "${text}"`);
  if (spec.type === 'int' && !Number.isInteger(value)) throw new Error(`${flag} expects an integer, got "${text}"`);
  const problem = numberProblem(spec, value);
  if (problem) throw new Error(`${flag} ${problem}, got ${text}`);
  return value;
}

/**
 * Adds every flag of `specs` to a commander command. Booleans also get their negation (--no-x,
 * shown when x is on by default); required flags say so in the help; a string flag's deprecated
 * alias (e.g. --out for --output) still works, with a warning through `warn`.
 */
export function addFlags(command: Command, specs: FlagSpecs, warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Command {
  for (const [key, spec] of Object.entries(specs)) {
    const flag = flagName(key);
    if (spec.type === 'boolean') {
      command.addOption(new Option(flag, spec.default === true ? `${spec.help} (default: on)` : spec.help));
      const negation = new Option(`--no-${flag.slice(2)}`, `turn ${flag} off`);
      command.addOption(spec.default === true ? negation : negation.hideHelp());
      continue;
    }
    const placeholder = spec.type === 'string' ? '<text>' : spec.type === 'int' ? '<n>' : '<x>';
    const required = spec.type === 'string' && spec.required === true;
    const option = new Option(`${flag} ${placeholder}`, required ? `${spec.help} (required)` : spec.help);
    if (spec.default !== undefined) option.default(spec.default);
    if (spec.type === 'string' && spec.choices) option.choices([...spec.choices]);
    // A flag that has a deprecated alias cannot be mandatory for commander; checkFlagValues still requires it.
    if (required && !spec.deprecatedAlias) option.makeOptionMandatory();
    if (spec.type !== 'string') option.argParser((text: string) => parseNumber(key, spec, text));
    command.addOption(option);
    if (spec.type === 'string' && spec.deprecatedAlias) command.addOption(deprecatedAlias(spec.deprecatedAlias, key, warn));
  }
  return command;
}

/** A hidden `--alias <text>` that stores its value under `key`, with a warning naming the new flag. */
function deprecatedAlias(alias: string, key: string, warn: (message: string) => void): Option {
  const option = new Option(`--${alias} <text>`).hideHelp();
  option.attributeName = () => key;
  return option.argParser((text: string) => {
    warn(`intuitor: warning: --${alias} is deprecated; use ${flagName(key)}`);
    return text;
  });
}

/** What a spec's values are, for messages: "an integer", "true or false", "one of a, b". */
export function expectedType(spec: FlagSpec): string {
  if (spec.type === 'boolean') return 'true or false';
  if (spec.type === 'string') return spec.choices ? `one of ${spec.choices.join(', ')}` : 'text';
  return spec.type === 'int' ? 'an integer' : 'a number';
}

/**
 * Validates values that did not come through commander (a config file, a test) against the specs,
 * strictly: a number must be a number (not the text "2"), and null is not a value (leave a field
 * out for its default).
 */
export function checkFlagValues<S extends FlagSpecs>(specs: S, values: Record<string, unknown>): FlagValues<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const flag = flagName(key);
    if (values[key] === null) throw new Error(`${flag} expects ${expectedType(spec)}, got null; leave it out for the default`);
    const value = values[key] ?? spec.default;
    if (value === undefined) {
      if (spec.type === 'string' && spec.required) throw new Error(`${flag} is required`);
      if (spec.type === 'boolean') out[key] = false;
      continue;
    }
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw new Error(`${flag} expects true or false, got ${JSON.stringify(value)}`);
    } else if (spec.type === 'string') {
      if (typeof value !== 'string') throw new Error(`${flag} expects text, got ${JSON.stringify(value)}`);
      if (spec.choices && !spec.choices.includes(value)) throw new Error(`${flag} must be one of ${spec.choices.join(', ')}, got "${value}"`);
    } else {
      if (typeof value !== 'number') throw new Error(`${flag} expects ${expectedType(spec)}, got ${JSON.stringify(value)}`);
      const problem = numberProblem(spec, value);
      if (problem) throw new Error(`${flag} ${problem}, got ${value}`);
    }
    out[key] = value;
  }
  const unknown = Object.keys(values).filter((k) => !(k in specs) && values[k] !== undefined);
  if (unknown.length > 0) {
    const named = unknown.map((k) => {
      const close = closestName(k, Object.keys(specs));
      return close === undefined ? flagName(k) : `${flagName(k)} (did you mean ${flagName(close)}?)`;
    });
    throw new Error(`unknown option${unknown.length > 1 ? 's' : ''}: ${named.join(', ')}`);
  }
  return out as FlagValues<S>;
}
