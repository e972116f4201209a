/**
 * Counts failed sign-ins per client address in a sliding window. Past the limit the address is refused
 * until its oldest failure leaves the window; each failure also waits `delayMs` before its response.
 */
export class FailedLogins {
  private readonly failures = new Map<string, number[]>();
  /** When each address last had a failure logged. */
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    readonly delayMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const recent = this.recent(address);

    if (recent.length < this.limit) {
      return 0;
    }

    return Math.max(1, Math.ceil((recent[0] + this.windowMs - this.now()) / 1000));
  }

  /**
   * Records a failure. `log` is true for at most one failure per address and window, and `lockedOut` for
   * the failure that reaches the limit, so a guessing run leaves a few log records instead of thousands.
   */
  record(address: string): { log: boolean; lockedOut: boolean } {
    const now = this.now();
    const recent = this.recent(address);
    const lastLogged = this.logged.get(address);
    const log = lastLogged === undefined || lastLogged <= now - this.windowMs;

    recent.push(now);
    this.failures.set(address, recent);

    if (log) {
      this.logged.set(address, now);
    }

    this.forgetIdle();

    return { log, lockedOut: recent.length === this.limit };
  }

  private recent(address: string): number[] {
    const cutoff = this.now() - this.windowMs;

    return (this.failures.get(address) ?? []).filter((at) => at > cutoff);
  }

  /** Keeps memory bounded when many addresses fail once and never come back. */
  private forgetIdle(): void {
    if (this.failures.size <= maxTrackedAddresses) {
      return;
    }

    const cutoff = this.now() - this.windowMs;

    for (const [address, times] of this.failures) {
      if (times[times.length - 1] <= cutoff) {
        this.failures.delete(address);
        this.logged.delete(address);
      }
    }
  }
}

const maxTrackedAddresses = 10_000;
