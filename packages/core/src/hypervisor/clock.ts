/**
 * Time as the hypervisor sees it, injected so tests can step it and so the
 * core never reaches for a runtime-specific timer.
 */
export interface Clock {
  /** Milliseconds, monotonic, fractional allowed. */
  now(): number;
  /** Call `fn` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a pending `setTimeout` by its handle; a handle that already fired is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The real clock: `performance.now()` and the global timers, available on Node, Deno and browsers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Give the host's event loop a turn. `setTimeout(0)` is clamped to 4 ms
 * after a few nested calls in browsers and Deno, which would cap a gateway
 * at 250 windows per second; a MessageChannel round trip is not clamped.
 */
export function yieldToHost(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((r) => void g.setImmediate!(r));
  if (typeof MessageChannel === 'function') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        r();
      };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((r) => globalThis.setTimeout(r, 0));
}
