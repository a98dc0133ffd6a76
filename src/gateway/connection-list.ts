/**
 * A set of objects kept as a circular doubly-linked list through two fields
 * of the objects themselves (as the timing wheel does). A server's list of
 * admitted connections held in a `Set` cost 25–40 bytes per connection in
 * the Set's hash table (entries, chain links and buckets, doubled on
 * growth); two fields cost 16 and never need a rehash.
 */
export interface ListEntry {
  listNext: ListEntry | null;
  listPrev: ListEntry | null;
}

export class LinkedSet<T extends ListEntry> {
  /** Sentinel: the list is empty when it points at itself. */
  private readonly head: ListEntry;
  private count = 0;

  constructor() {
    const head: ListEntry = { listNext: null, listPrev: null };
    head.listNext = head;
    head.listPrev = head;
    this.head = head;
  }

  get size(): number {
    return this.count;
  }

  /** Add `entry`, which must not be in another LinkedSet (no-op if already in this one). */
  add(entry: T): void {
    if (entry.listNext !== null) return;
    const last = this.head.listPrev as ListEntry;
    entry.listPrev = last;
    entry.listNext = this.head;
    last.listNext = entry;
    this.head.listPrev = entry;
    this.count++;
  }

  /** Remove `entry`; false if it was not in the set. */
  delete(entry: T): boolean {
    const next = entry.listNext;
    const prev = entry.listPrev;
    if (next === null || prev === null) return false;
    prev.listNext = next;
    next.listPrev = prev;
    entry.listNext = null;
    entry.listPrev = null;
    this.count--;
    return true;
  }

  /** The entries now, in insertion order: a copy, so the caller may add and remove while going through it. */
  values(): T[] {
    const out: T[] = [];
    for (let e = this.head.listNext as ListEntry; e !== this.head; e = e.listNext as ListEntry) out.push(e as T);
    return out;
  }
}
