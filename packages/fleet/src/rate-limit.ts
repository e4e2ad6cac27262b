/**
 * Token bucket: `rate` tokens per second, at most `burst` saved up. One per
 * partition and stream, so a chatty guest cannot starve the others or the
 * broker; what does not fit is counted, not queued.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes up to `n` tokens; returns how many were granted. */
  take(n: number, now: number): number {
    const dt = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (dt * this.rate) / 1000);
    const granted = Math.min(n, Math.floor(this.#tokens));
    this.#tokens -= granted;
    return granted;
  }

  /** Milliseconds until `n` tokens are available (0: now), for callers that wait rather than drop. */
  msUntil(n: number, now: number): number {
    const have = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#last) * this.rate) / 1000);
    return have >= n ? 0 : Math.max(1, Math.ceil(((n - have) * 1000) / this.rate));
  }
}
