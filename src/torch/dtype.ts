// Data types: names used in the API, their at::ScalarType codes, and the typed arrays that hold
// their elements in JS. bfloat16 and float16 have no typed array: they read and write as Float32Array.

export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

// c10::ScalarType enumerators (stable across libtorch versions).
const codes: Record<DType, number> = {
  uint8: 0,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const byCode = new Map<number, DType>(Object.entries(codes).map(([name, code]) => [code, name as DType]));

export const dtypes: readonly DType[] = Object.keys(codes) as DType[];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && value in codes;
}

export function dtypeCode(dtype: DType): number {
  const code = codes[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype "${String(dtype)}": expected one of ${dtypes.join(', ')}`);
  return code;
}

export function dtypeFromCode(code: number): DType {
  const dtype = byCode.get(code);
  if (dtype === undefined) throw new TypeError(`tensor has a dtype (ScalarType ${code}) that intuitor does not expose`);
  return dtype;
}

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'bfloat16' || dtype === 'float16';
}

/** Bytes per element. */
export function elementSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'bfloat16':
    case 'float16':
      return 2;
    case 'uint8':
    case 'bool':
      return 1;
  }
}

/** The dtype a typed array's elements are stored in when no dtype is given. */
export function dtypeOfTypedArray(data: AnyTypedArray): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  return 'float32';
}

/** The dtype whose elements `toArray()` returns for a tensor of `dtype` (half types widen to float32). */
export function hostDType(dtype: DType): DType {
  return dtype === 'bfloat16' || dtype === 'float16' ? 'float32' : dtype;
}

/** A typed array view of `buffer` holding elements of `dtype` (a host dtype: see hostDType). */
export function typedArrayFor(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  switch (hostDType(dtype)) {
    case 'float64':
      return new Float64Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
    default:
      return new Float32Array(buffer);
  }
}
