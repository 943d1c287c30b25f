/**
 * Reads one item ahead of an async iterable: as soon as an item arrives the next is asked for, so its request is on
 * the wire while the caller works on this one (normalises a page, spools it, saves a checkpoint). Without it a
 * stream's next request waits for all that work, and at Graph's page latency a reader needs more streams in flight
 * to keep its throttle budget busy.
 *
 * `ahead()` is asked before each read-ahead: when the run is ending (out of time, another slice failed) a request
 * nobody will use would spend throttle budget, so none is made. A read-ahead's failure is not lost: it is thrown by
 * the `next()` that takes it, after the caller finished (and saved) the item before it. A caller that wants to stop
 * takes what `aheadInFlight()` says is already asked for (its request is spent) and then stops. `close()` ends reading
 * at once: a read-ahead still in flight is left to settle quietly and the source is closed behind it.
 */
export interface ReadAhead<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  /** True when the next item is already asked for. */
  aheadInFlight(): boolean;
  close(): void;
}

export function readAhead<T>(source: AsyncIterable<T>, ahead: () => boolean): ReadAhead<T> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T, undefined>> | undefined;
  let finished = false;
  const closeSource = () => {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  return {
    async next() {
      if (finished) return { done: true, value: undefined };
      const taken = pending ?? (iterator.next() as Promise<IteratorResult<T, undefined>>);
      pending = undefined;
      let step: IteratorResult<T, undefined>;
      try {
        step = await taken;
      } catch (error) {
        finished = true;
        throw error;
      }
      if (step.done) {
        finished = true;
        return step;
      }
      if (ahead()) {
        const next = iterator.next() as Promise<IteratorResult<T, undefined>>;
        // Handled here so an unawaited failure is not an unhandled rejection; the caller still sees it when it takes it.
        next.catch(() => undefined);
        pending = next;
      }
      return step;
    },
    aheadInFlight() {
      return pending !== undefined;
    },
    close() {
      if (finished) return;
      finished = true;
      const inFlight = pending;
      pending = undefined;
      if (inFlight) void inFlight.then(closeSource, () => undefined);
      else closeSource();
    },
  };
}
