// Typed reads of request fields with OpenAI's error messages and codes. A field that is absent or
// null reads as undefined (OpenAI treats null as "not given"); a field of the wrong type or out of
// range is a 400 naming the parameter.

import { invalidRequest, type ApiError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
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

function checkBounds(param: string, value: number, bounds: Bounds, integer: boolean): number {
  const kind = integer ? 'integer' : 'decimal';
  if (bounds.min !== undefined && value < bounds.min) {
    throw invalidRequest(`Invalid '${param}': ${kind} below minimum value. Expected a value >= ${bounds.min}, but got ${value} instead.`, param, `${kind}_below_min_value`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw invalidRequest(`Invalid '${param}': ${kind} above maximum value. Expected a value <= ${bounds.max}, but got ${value} instead.`, param, `${kind}_above_max_value`);
  }
  return value;
}

export function optionalInteger(obj: JsonObject, key: string, bounds: Bounds = {}, param = key): number | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrongType(param, 'an integer', value);
  return checkBounds(param, value, bounds, true);
}

export function optionalNumber(obj: JsonObject, key: string, bounds: Bounds = {}, param = key): number | undefined {
  const value = get(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(param, 'a number', value);
  return checkBounds(param, value, bounds, false);
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
