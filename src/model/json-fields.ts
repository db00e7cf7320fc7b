// Typed fields of a model folder's JSON files (config.json, generation_config.json): each field is
// checked for its type and range, and every problem is an Error naming the file and the field. The
// files themselves are read by src/config/json-file.ts, whose errors name the file, line and column.
// A field that is absent or null takes its fallback, as transformers treats both the same way.

export type Json = Record<string, unknown>;

export class Fields {
  /**
   * `label` names the object in messages: a file ("config.json"), or a file and the path of a nested
   * object ("config.json rope_parameters").
   */
  constructor(
    readonly json: Json,
    readonly label: string,
  ) {}

  fail(field: string, expected: string): never {
    const found = field in this.json ? JSON.stringify(this.json[field]) : 'nothing';
    throw new Error(`${this.label}: field "${field}" must be ${expected}, found ${found}`);
  }
  has(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }
  int(field: string, fallback?: number, min = 1): number {
    if (!this.has(field)) return fallback ?? this.fail(field, `an integer >= ${min}`);
    const v = this.json[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `an integer >= ${min}`);
    return v;
  }
  number(field: string, fallback?: number): number {
    if (!this.has(field)) return fallback ?? this.fail(field, 'a positive number');
    const v = this.json[field];
    if (typeof v !== 'number' || !(v > 0)) this.fail(field, 'a positive number');
    return v;
  }
  bool(field: string, fallback: boolean): boolean {
    if (!this.has(field)) return fallback;
    const v = this.json[field];
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }
  ids(field: string): number[] {
    if (!this.has(field)) return [];
    const v = this.json[field];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) this.fail(field, 'a token id or a list of token ids');
    return list as number[];
  }
  optionalNumber(field: string): number | undefined {
    return this.has(field) ? this.number(field) : undefined;
  }
  optionalInt(field: string): number | undefined {
    return this.has(field) ? this.int(field) : undefined;
  }
}
