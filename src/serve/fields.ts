// Typed reads of request fields with OpenAI's error messages and codes. A field that is absent or
// null reads as undefined (OpenAI treats null as "not given"); a field of the wrong type or out of
// range is a 400 naming the parameter. A number with no bound of its own must still be finite, and
// an integer exact in a double.

import { invalidRequest, type ApiError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (Number.isNaN(value)) return 'NaN';
  if (typeof value === 'number' && Number.isInteger(value)) return 'an integer';
  if (typeof value === 'number') return 'a decimal';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function wrongType(param: string, expected: string, value: unknown): ApiError {
  return invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`, param, 'invalid_type');
}

export function missing(param: string): ApiError {
  return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function get(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

interface Bounds {
  min?: number;
  max?: number;
}

// Without a bound of its own, an integer must still be exact in a double (seeds go to the sampler
// as they are), and a decimal finite: 1e999 parses as Infinity.
function checkBounds(param: string, value: number, bounds: Bounds, integer: boolean): number {
  const kind = integer ? 'integer' : 'decimal';
  const min = bounds.min ?? (integer ? Number.MIN_SAFE_INTEGER : -Number.MAX_VALUE);
  const max = bounds.max ?? (integer ? Number.MAX_SAFE_INTEGER : Number.MAX_VALUE);
  if (value < min) {
    throw invalidRequest(`Invalid '${param}': ${kind} below minimum value. Expected a value >= ${min}, but got ${value} instead.`, param, `${kind}_below_min_value`);
  }
  if (value > max) {
    throw invalidRequest(`Invalid '${param}': ${kind} above maximum value. Expected a value <= ${max}, but got ${value} instead.`, param, `${kind}_above_max_value`);
  }
  return value;
}

export function optionalInteger(obj: JsonObject, key: string, bounds: Bounds = {}, param = key): number | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || (Number.isFinite(value) && !Number.isInteger(value))) throw wrongType(param, 'an integer', value);
  return checkBounds(param, value, bounds, true);
}

export function optionalNumber(obj: JsonObject, key: string, bounds: Bounds = {}, param = key): number | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) throw wrongType(param, 'a number', value);
  return checkBounds(param, value, bounds, false);
}

/**
 * Text that becomes a prompt or a stop string must be well-formed Unicode: JSON can spell a lone
 * UTF-16 surrogate ("\ud800"), which no UTF-8 text contains and a tokenizer would silently replace.
 */
export function checkText(param: string, value: string): string {
  const lone = /[\uD800-\uDFFF]/u.exec(value);
  if (lone) {
    const unit = lone[0].charCodeAt(0).toString(16);
    throw invalidRequest(`Invalid '${param}': it contains a lone UTF-16 surrogate (\\u${unit} at index ${lone.index}), which is not a Unicode character.`, param, 'invalid_unicode');
  }
  return value;
}

export function optionalBoolean(obj: JsonObject, key: string, param = key): boolean | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw wrongType(param, 'a boolean', value);
  return value;
}

export function optionalString(obj: JsonObject, key: string, param = key): string | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw wrongType(param, 'a string', value);
  return value;
}

export function requiredString(obj: JsonObject, key: string, param = key): string {
  const value = optionalString(obj, key, param);
  if (value === undefined) throw missing(param);
  return value;
}

export function optionalObject(obj: JsonObject, key: string, param = key): JsonObject | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw wrongType(param, 'an object', value);
  return value;
}

export function field(obj: JsonObject, key: string): unknown {
  const value = get(obj, key);
  return value === null ? undefined : value;
}
