// Deterministic tensor memory.
//
// Native tensors are invisible to V8's heap accounting and finalizers do not run inside a
// synchronous loop, so a training step that waits for garbage collection grows to gigabytes.
// `scope(fn)` disposes every tensor created while fn runs, except the tensors fn returns (they
// move to the enclosing scope) and tensors marked with `keep`. Scopes nest. Outside any scope a
// tensor lives until `dispose()` (or, as a last resort, until it is garbage-collected).

/** What a scope needs of a tensor; implemented by Tensor. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** set by keep(): no scope disposes it */
  kept: boolean;
}

const scopes: Set<Disposable>[] = [];

/** Called by every new Tensor. */
export function track(tensor: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top !== undefined) top.add(tensor);
}

/** Marks tensors to outlive every scope; the caller owns them and disposes them. Returns the first. */
export function keep<T extends Disposable>(tensor: T, ...more: Disposable[]): T {
  tensor.kept = true;
  for (const t of more) t.kept = true;
  return tensor;
}

function isTracked(value: unknown): value is Disposable {
  return typeof value === 'object' && value !== null && 'kept' in value && typeof (value as Disposable).dispose === 'function';
}

// Tensors reachable from a scope's result: the result itself, arrays, Maps and plain objects.
function collect(value: unknown, into: Set<Disposable>, seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) {
    into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, into, seen);
  } else if (value instanceof Map) {
    for (const item of value.values()) collect(item, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collect(item, into, seen);
  }
}

/**
 * Runs fn and disposes every tensor it created, except those in its result and kept ones.
 * fn must be synchronous: an await inside would let unrelated work run in this scope.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Disposable>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of created) if (!t.kept) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of created) if (!t.kept) t.dispose();
    throw new TypeError('scope(fn): fn returned a Promise; scopes track synchronous work only. Make fn synchronous and await outside the scope (one scope per step).');
  }
  const survivors = new Set<Disposable>();
  if (typeof result === 'object' && result !== null) collect(result, survivors, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of created) {
    if (t.kept || t.isDisposed) continue;
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** How many scopes are open (for tests and assertions). */
export function scopeDepth(): number {
  return scopes.length;
}
