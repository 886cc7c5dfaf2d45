/**
 * A table whose changes a unit of work can roll back. Rows are changed in place, so the first time a unit
 * of work reaches an entry (reading, writing or iterating) the entry's original is kept: a copy of the row
 * for tables of mutable rows, the value itself for tables whose values are only ever replaced. Rolling back
 * puts the originals back. This costs a unit of work only what it touches, not the whole store.
 */
export class JournaledMap<K, V> extends Map<K, V> {
  readonly #copy: (value: V) => V;
  #inUnitOfWork = false;
  /** Created on the first touch, so units of work that leave a table alone cost it nothing. */
  #originals: Map<K, V | undefined> | undefined;

  constructor(copy: (value: V) => V = (value) => value) {
    super();
    this.#copy = copy;
  }

  begin(): void {
    this.#inUnitOfWork = true;
  }

  commit(): void {
    this.#inUnitOfWork = false;
    this.#originals = undefined;
  }

  rollback(): void {
    const originals = this.#originals;
    this.commit();
    for (const [key, original] of originals ?? []) {
      if (original === undefined) super.delete(key);
      else super.set(key, original);
    }
  }

  override get(key: K): V | undefined {
    // Reading a key that is not there changes nothing; a later `set` keeps that it was absent.
    if (super.has(key)) this.#keep(key);
    return super.get(key);
  }

  override set(key: K, value: V): this {
    this.#keep(key);
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    this.#keep(key);
    return super.delete(key);
  }

  override entries(): MapIterator<[K, V]> {
    this.#keepAll();
    return super.entries();
  }

  override values(): MapIterator<V> {
    this.#keepAll();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** The rows as they are, keeping no originals: for reads, and for scans that `get` a row before changing it. */
  peekValues(): MapIterator<V> {
    return super.values();
  }

  /** The entries as they are, keeping no originals (see `peekValues`). */
  peekEntries(): MapIterator<[K, V]> {
    return super.entries();
  }

  /** One row as it is, keeping no original (see `peekValues`). */
  peek(key: K): V | undefined {
    return super.get(key);
  }

  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    this.#keepAll();
    super.forEach(callback, thisArg);
  }

  #keep(key: K): void {
    if (!this.#inUnitOfWork) return;
    this.#originals ??= new Map();
    if (this.#originals.has(key)) return;
    const current = super.get(key);
    this.#originals.set(key, current === undefined ? undefined : this.#copy(current));
  }

  #keepAll(): void {
    if (!this.#inUnitOfWork) return;
    for (const key of super.keys()) this.#keep(key);
  }
}
