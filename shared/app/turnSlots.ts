/**
 * How many control turns one process runs at once.
 *
 * The queue trigger hands an instance up to batchSize + newBatchThreshold messages at a time (24 with host.json's
 * 16 + 8), and every `controls` message is a turn that may run a review holding up to concurrency + 1 slices of
 * records (about 70 MB of compact records at 30,000 a slice, and the pages being parsed). A notice that touches many
 * tenants plans a turn per control: without a limit, two dozen reviews could share one 2 GB instance and take it down
 * together, and every one of them would resume after its lease into the same crash. A turn therefore waits for a
 * slot; one that waits too long hands its message back to the queue, for this or another instance.
 */
export class TurnSlots {
  private free: number;
  private readonly waiting: ((release: () => void) => void)[] = [];

  /** How long a turn waits for a slot before it hands its message back (a minute: turns run for minutes). */
  readonly waitMs: number;

  constructor(
    readonly size: number,
    options: { waitMs?: number } = {},
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`turn slots must be a positive integer, not ${String(size)}`);
    this.free = size;
    this.waitMs = options.waitMs ?? 60_000;
  }

  /** Turns running now. */
  get busy(): number {
    return this.size - this.free;
  }

  /**
   * A slot: resolves to its release function (call it once the turn is over; later calls do nothing), or to
   * undefined when no slot came free within `waitMs`. Waiting turns get slots in arrival order.
   */
  acquire(waitMs = this.waitMs, wait: (ms: number, onTimeout: () => void) => () => void = defaultTimer): Promise<(() => void) | undefined> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const granted = (release: () => void) => {
        cancel();
        resolve(release);
      };
      this.waiting.push(granted);
      const cancel = wait(waitMs, () => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(undefined);
      });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiting turn; only when none waits is it free again.
      if (next) next(this.releaser());
      else this.free++;
    };
  }
}

function defaultTimer(ms: number, onTimeout: () => void): () => void {
  const timer = setTimeout(onTimeout, ms);
  return () => {
    clearTimeout(timer);
  };
}
