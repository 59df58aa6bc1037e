// One object for equal values among the cached objects. The pods of one workload have the
// same stripped spec (container names, ports, hostNetwork): 10,000 pods of a few
// StatefulSets held 10,000 equal copies of it, ~250 B each, where they can hold a few.
//
// Only values nothing writes to may be shared: they are frozen, so a write throws (in the
// tests) instead of changing every pod that shares them. An entry lives as long as some
// cached object holds its value (WeakRef), so rollouts that change specs leave no trail.

/** Deep-freezes a plain JSON value (objects and arrays), in place. */
const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
};

export class SharedValues<T extends object> {
  private readonly byKey = new Map<string, WeakRef<T>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    if (this.byKey.get(key)?.deref() === undefined) this.byKey.delete(key);
  });

  /**
   * The held value equal to `value` (as JSON: the values are what JSON.parse and the strip
   * functions make, so equal JSON is equal content), or `value` itself, frozen, from now on.
   */
  share(value: T): T {
    const key = JSON.stringify(value);
    const held = this.byKey.get(key)?.deref();
    if (held !== undefined) return held;
    this.byKey.set(key, new WeakRef(deepFreeze(value)));
    this.registry.register(value, key);
    return value;
  }

  /** Distinct values held (some may be collected already). */
  get size(): number {
    return this.byKey.size;
  }
}
