import type { UpstreamFailureKind } from './domain-errors.js';

/** Method a credential check used: a password, an API key, or a bearer token Wharf issued. */
export type AuthAttemptMethod = 'htpasswd' | 'api-key' | 'token';
export type AuthAttemptResult = 'success' | 'failure' | 'rate-limited';

/** Outcome of one request to an upstream registry. */
export type UpstreamRequestResult =
  'success' | 'not-found' | 'denied' | 'client-error' | 'rate-limited' | UpstreamFailureKind;

/** A summary of one scrub, for its metrics. */
export interface ScrubSummary {
  result: 'finished' | 'failed';
  durationSeconds: number;
  blobs: number;
  bytes: number;
  problems: Record<'missing' | 'corrupt' | 'size', number>;
}

/** Counts of what one garbage collection deleted; `bytes` are those of blobs and files removed from disk. */
export interface GcRemovals {
  tags: number;
  manifests: number;
  links: number;
  blobs: number;
  files: number;
  bytes: number;
}

/** A summary of one garbage collection, for its metrics. */
export interface GcSummary {
  result: 'finished' | 'failed';
  durationSeconds: number;
  removed: GcRemovals;
}

/** A summary of one image scan that ended, for its metrics. */
export interface ScanSummary {
  result: 'finished' | 'failed';
  /** Why it was queued: push, cache, database, request or backfill. */
  reason: string;
  durationSeconds: number;
}

/**
 * Receives counts of what the registry does: uploads, upstream requests, cache hits and sign-in
 * attempts. The metrics module provides the implementation, and the modules that do the work depend on
 * this class only, so that nothing depends on metrics.
 */
export abstract class ActivityObserver {
  /** Counts a blob upload whose digest was verified and which is now stored. */
  abstract recordUpload(bytes: number): void;

  abstract recordUpstreamRequest(upstream: string, result: UpstreamRequestResult): void;

  abstract recordUpstreamError(upstream: string, kind: string): void;

  /** Counts content served from the cache of `upstream`. */
  abstract recordCacheHit(upstream: string, bytes: number): void;

  /** Counts content fetched from `upstream`; `bytes` is what the upstream sent. */
  abstract recordCacheMiss(upstream: string, bytes: number): void;

  abstract recordAuthAttempt(method: AuthAttemptMethod, result: AuthAttemptResult): void;

  /** Counts a scrub that ended, with the blobs it read and the problems it found. */
  abstract recordScrub(summary: ScrubSummary): void;

  /** Counts a garbage collection that ended, with what it deleted. */
  abstract recordGc(summary: GcSummary): void;

  /** Counts an image scan that ended. */
  abstract recordScan(summary: ScanSummary): void;

  /** Counts one signature checked: `kind` is cosign, sigstore-bundle or notation. */
  abstract recordSignatureCheck(kind: string, verified: boolean): void;

  /** Counts an image evicted from the cache of `upstream`, which then stores `bytes` less. */
  abstract recordEviction(upstream: string, bytes: number): void;
}
