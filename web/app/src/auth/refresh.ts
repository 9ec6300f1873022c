/**
 * When to refresh the access token: well before it expires, so requests never carry an expired
 * token. With `expiresIn` seconds of life, refresh at 80% of it but at least 30 s before the end
 * (and never sooner than 1 s from now). A 15-minute token is refreshed after 12 minutes.
 */
export function refreshDelayMs(expiresInSeconds: number): number {
  const lifetime = Math.max(0, expiresInSeconds) * 1000;
  const delay = Math.min(lifetime * 0.8, lifetime - 30_000);
  return Math.max(1_000, Math.floor(delay));
}

export interface Timers {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Keeps one refresh timer. `schedule(expiresIn)` replaces any earlier timer (each new token pair
 * reschedules); `cancel()` on sign-out. If a refresh fails with a network error it is tried again
 * after `retryMs`, while the token may still be valid.
 */
export class RefreshScheduler {
  private handle: unknown;

  constructor(
    private readonly refresh: () => Promise<'ok' | 'retry' | 'failed'>,
    private readonly timers: Timers = realTimers,
    private readonly retryMs = 5_000,
  ) {}

  schedule(expiresInSeconds: number): number {
    return this.after(refreshDelayMs(expiresInSeconds));
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }

  get scheduled(): boolean {
    return this.handle !== undefined;
  }

  private after(ms: number): number {
    this.cancel();
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined;
      void this.refresh().then((outcome) => {
        if (outcome === 'retry') this.after(this.retryMs);
      });
    }, ms);
    return ms;
  }
}
