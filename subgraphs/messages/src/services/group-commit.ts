/** What {@link GroupCommit} works with. */
export interface GroupCommitOptions<TItem, TResult> {
  /**
   * Runs one statement for `items` (in submission order) and resolves with one result per item,
   * in the same order. A rejection fails every item of the call.
   */
  readonly run: (items: readonly TItem[]) => Promise<readonly TResult[]>;
  /** How much of a batch an item takes (rows, guids). */
  readonly weightOf: (item: TItem) => number;
  /**
   * Most statements in flight at once; items submitted meanwhile wait and then run together.
   * @default 2
   */
  readonly maxConcurrent?: number;
  /**
   * Most weight one statement gathers from waiting items (an item heavier than this still runs,
   * alone: an item is never split).
   * @default 2000
   */
  readonly maxBatchWeight?: number;
}

interface Batch<TItem, TResult> {
  readonly items: TItem[];
  weight: number;
  readonly done: Promise<readonly TResult[]>;
  resolve(results: readonly TResult[]): void;
  reject(error: unknown): void;
}

/**
 * Group commit (decision): one statement per request caps a node at the database's commit rate,
 * so requests share statements. At most `maxConcurrent` statements run at once; items submitted
 * meanwhile (or in the same turn of the event loop) wait in one batch, run by the next statement
 * as soon as one finishes. An idle node thus runs an item at once, and a busy one many items per
 * commit. Each caller resolves only once the statement holding its item committed, with its own
 * result, and a failed statement rejects every item in it. Used for storing sends' envelopes
 * (`EnvelopeOutbox`) and for acknowledgements' deletes (`DeliveryService`).
 */
export class GroupCommit<TItem, TResult> {
  readonly #options: GroupCommitOptions<TItem, TResult>;
  readonly #maxConcurrent: number;
  readonly #maxBatchWeight: number;
  readonly #waiting: Batch<TItem, TResult>[] = [];
  #running = 0;
  #pumpScheduled = false;

  constructor(options: GroupCommitOptions<TItem, TResult>) {
    this.#options = options;
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? 2);
    this.#maxBatchWeight = Math.max(1, options.maxBatchWeight ?? 2000);
  }

  /** Resolves with `item`'s result once the statement that ran it committed. */
  async submit(item: TItem): Promise<TResult> {
    const weight = this.#options.weightOf(item);
    let batch = this.#waiting.at(-1);
    if (!batch || (batch.weight > 0 && batch.weight + weight > this.#maxBatchWeight)) {
      batch = newBatch<TItem, TResult>();
      this.#waiting.push(batch);
    }
    const index = batch.items.push(item) - 1;
    batch.weight += weight;
    if (this.#running < this.#maxConcurrent && !this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => {
        this.#pumpScheduled = false;
        this.#pump();
      });
    }
    return (await batch.done)[index]!;
  }

  #pump(): void {
    while (this.#running < this.#maxConcurrent && this.#waiting.length > 0) {
      const batch = this.#waiting.shift()!;
      this.#running++;
      this.#options
        .run(batch.items)
        .then(batch.resolve, batch.reject)
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }
}

function newBatch<TItem, TResult>(): Batch<TItem, TResult> {
  let resolve!: (results: readonly TResult[]) => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<readonly TResult[]>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // A batch may fail with no caller awaiting yet; each caller awaits `done` itself.
  done.catch(() => undefined);
  return { items: [], weight: 0, done, resolve, reject };
}
