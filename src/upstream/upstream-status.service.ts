import { Injectable } from '@nestjs/common';

import type { UpstreamRequestResult } from './upstream-client.js';

/** Docker Hub's pull quota as its `ratelimit-limit` and `ratelimit-remaining` headers last stated it. */
export interface UpstreamRateLimit {
  /** Pulls allowed per window; null when only `ratelimit-remaining` was sent. */
  limit: number | null;
  remaining: number;
  /** Length of the quota window in seconds, from the `w=` parameter; null when absent. */
  windowSeconds: number | null;
  /** Epoch milliseconds of the response that carried the headers. */
  observedAt: number;
}

/** Failure results: the upstream sent no usable response. */
export type UpstreamFailureResult = Exclude<
  UpstreamRequestResult,
  'success' | 'not-found' | 'denied' | 'client-error'
>;

/** Status of one upstream as this process has seen it since it started. */
export interface UpstreamStatusSnapshot {
  /** Result of the latest finished request, null before the first. */
  lastResult: UpstreamRequestResult | null;
  /** Epoch milliseconds of the latest finished request. */
  lastRequestAt: number | null;
  /** Epoch milliseconds of the latest request that got a response other than 429 or 5xx. */
  lastResponseAt: number | null;
  lastError: { kind: UpstreamFailureResult; at: number } | null;
  rateLimit: UpstreamRateLimit | null;
}

/**
 * Keeps, per upstream prefix, the result of the latest request, the latest failure and the latest
 * rate-limit headers, in memory. UpstreamClients reports every request of every upstream here.
 * Nothing is persisted, so after a restart the status is unknown until the next request.
 */
@Injectable()
export class UpstreamStatus {
  private readonly byPrefix = new Map<string, UpstreamStatusSnapshot>();

  recordResult(upstream: string, result: UpstreamRequestResult): void {
    const entry = this.entry(upstream);
    const now = Date.now();

    entry.lastResult = result;
    entry.lastRequestAt = now;

    if (isFailure(result)) {
      entry.lastError = { kind: result, at: now };
    } else {
      entry.lastResponseAt = now;
    }
  }

  /** Records Docker Hub's quota headers when the response has them; other responses change nothing. */
  recordHeaders(upstream: string, headers: Record<string, string | undefined>): void {
    const remaining = parseQuotaHeader(headers['ratelimit-remaining']);

    if (remaining === undefined) {
      return;
    }

    const limit = parseQuotaHeader(headers['ratelimit-limit']);

    this.entry(upstream).rateLimit = {
      limit: limit?.count ?? null,
      remaining: remaining.count,
      windowSeconds: remaining.windowSeconds ?? limit?.windowSeconds ?? null,
      observedAt: Date.now(),
    };
  }

  /** Returns a copy of what is known about the upstream; every field is null before its first request. */
  snapshot(upstream: string): UpstreamStatusSnapshot {
    const entry = this.byPrefix.get(upstream);

    return entry ? structuredClone(entry) : emptySnapshot();
  }

  private entry(upstream: string): UpstreamStatusSnapshot {
    let entry = this.byPrefix.get(upstream);

    if (!entry) {
      entry = emptySnapshot();
      this.byPrefix.set(upstream, entry);
    }

    return entry;
  }
}

/** Returns whether a result is a failure: rate-limited, unreachable, 5xx or an invalid response. */
export function isFailure(result: UpstreamRequestResult): result is UpstreamFailureResult {
  return !['success', 'not-found', 'denied', 'client-error'].includes(result);
}

function emptySnapshot(): UpstreamStatusSnapshot {
  return { lastResult: null, lastRequestAt: null, lastResponseAt: null, lastError: null, rateLimit: null };
}

/**
 * Parses a quota header such as `100;w=21600`, the form Docker Hub sends: a count, then the window in
 * seconds. Returns undefined when the header is absent or does not start with a count.
 */
export function parseQuotaHeader(
  value: string | undefined,
): { count: number; windowSeconds?: number } | undefined {
  const match = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(value ?? '');

  if (!match) {
    return undefined;
  }

  return {
    count: Number(match[1]),
    ...(match[2] === undefined ? {} : { windowSeconds: Number(match[2]) }),
  };
}
