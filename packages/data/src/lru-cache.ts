/** A least-recently-used cache of byte arrays with a total size budget. */
export class ByteLruCache<K> {
  private readonly map = new Map<K, Uint8Array>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get(key: K): Uint8Array | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: Uint8Array): void {
    if (value.byteLength > this.budgetBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.byteLength;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.bytes += value.byteLength;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budgetBytes) break;
      this.map.delete(k);
      this.bytes -= v.byteLength;
    }
  }

  get size(): number {
    return this.map.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }
}
