import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';

import {
  ActivityObserver,
  type AuthAttemptMethod,
  type AuthAttemptResult,
  type GcSummary,
  type ScanSummary,
  type ScrubSummary,
  type UpstreamRequestResult,
} from '../common/activity-observer.js';
import { findPackage } from '../common/package-info.js';
import { WharfConfig } from '../config/config.schema.js';
import { metricNames } from './metric-definitions.js';
import { RequestTallies } from './request-tallies.js';

/** Reasons a scan was queued, the `reason` label of `wharf_scans_total`. */
const scanReasons = new Set(['push', 'cache', 'database', 'request', 'backfill']);

/** Signature formats, the `kind` label of `wharf_signature_checks_total`. */
const signatureKinds = new Set(['cosign', 'sigstore-bundle', 'notation']);

/** Kinds of upstream failure counted in `wharf_upstream_errors_total`; anything else counts as `other`. */
const upstreamErrorKinds = new Set([
  'timeout',
  'network',
  'server-error',
  'invalid-response',
  'rate-limited',
  'refused',
]);

/** One completed HTTP request. */
export interface RequestSample {
  method: string;
  /** A route template, never a raw path. */
  route: string;
  status: number;
  durationSeconds: number;
  requestBytes: number;
  responseBytes: number;
}

/**
 * The calls other modules make to count what they do. Label values are bounded here: upstream
 * prefixes outside the configuration and unknown HTTP methods are counted as `other`.
 */
@Injectable()
export class WharfMetrics implements ActivityObserver {
  private readonly upstreamPrefixes: Set<string>;

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @InjectMetric(metricNames.info) info: Gauge<string>,
    @Inject(RequestTallies) private readonly requests: RequestTallies,
    @InjectMetric(metricNames.uploadSize) private readonly uploadSize: Histogram<string>,
    @InjectMetric(metricNames.upstreamRequests) private readonly upstreamRequests: Counter<string>,
    @InjectMetric(metricNames.upstreamErrors) private readonly upstreamErrors: Counter<string>,
    @InjectMetric(metricNames.cacheHits) private readonly cacheHits: Counter<string>,
    @InjectMetric(metricNames.cacheMisses) private readonly cacheMisses: Counter<string>,
    @InjectMetric(metricNames.cacheBytes) private readonly cacheBytes: Counter<string>,
    @InjectMetric(metricNames.authAttempts) private readonly authAttempts: Counter<string>,
    @InjectMetric(metricNames.scrubRuns) private readonly scrubRuns: Counter<string>,
    @InjectMetric(metricNames.scrubDuration) private readonly scrubDuration: Histogram<string>,
    @InjectMetric(metricNames.scrubBlobs) private readonly scrubBlobs: Counter<string>,
    @InjectMetric(metricNames.scrubBytes) private readonly scrubBytes: Counter<string>,
    @InjectMetric(metricNames.scrubProblems) private readonly scrubProblems: Counter<string>,
    @InjectMetric(metricNames.gcRuns) private readonly gcRuns: Counter<string>,
    @InjectMetric(metricNames.gcDuration) private readonly gcDuration: Histogram<string>,
    @InjectMetric(metricNames.gcRemoved) private readonly gcRemoved: Counter<string>,
    @InjectMetric(metricNames.gcRemovedBytes) private readonly gcRemovedBytes: Counter<string>,
    @InjectMetric(metricNames.cacheEvictions) private readonly cacheEvictions: Counter<string>,
    @InjectMetric(metricNames.cacheEvictedBytes) private readonly cacheEvictedBytes: Counter<string>,
    @InjectMetric(metricNames.scans) private readonly scans: Counter<string>,
    @InjectMetric(metricNames.scanDuration) private readonly scanDuration: Histogram<string>,
    @InjectMetric(metricNames.signatureChecks) private readonly signatureChecks: Counter<string>,
  ) {
    this.upstreamPrefixes = new Set(config.upstreams.map((upstream) => upstream.prefix));
    info.set({ version: findPackage(import.meta.url).version }, 1);

    // Cache series exist from the start, so rate() and hit ratios work before the first pull.
    for (const upstream of this.upstreamPrefixes) {
      this.cacheHits.inc({ upstream }, 0);
      this.cacheMisses.inc({ upstream }, 0);
      this.cacheBytes.inc({ upstream, source: 'cache' }, 0);
      this.cacheBytes.inc({ upstream, source: 'upstream' }, 0);
      this.cacheEvictions.inc({ upstream }, 0);
      this.cacheEvictedBytes.inc({ upstream }, 0);
    }

    for (const problem of ['missing', 'corrupt', 'size']) {
      this.scrubProblems.inc({ problem }, 0);
    }

    for (const kind of gcKinds) {
      this.gcRemoved.inc({ kind }, 0);
    }
  }

  recordRequest(sample: RequestSample): void {
    this.requests.record(
      methodLabel(sample.method),
      sample.route,
      sample.status,
      sample.durationSeconds,
      sample.requestBytes,
      sample.responseBytes,
    );
  }

  recordUpload(bytes: number): void {
    this.uploadSize.observe(bytes);
  }

  recordUpstreamRequest(upstream: string, result: UpstreamRequestResult): void {
    this.upstreamRequests.inc({ upstream: this.upstreamLabel(upstream), result });
  }

  recordUpstreamError(upstream: string, kind: string): void {
    this.upstreamErrors.inc({
      upstream: this.upstreamLabel(upstream),
      kind: upstreamErrorKinds.has(kind) ? kind : 'other',
    });
  }

  recordCacheHit(upstream: string, bytes: number): void {
    const label = this.upstreamLabel(upstream);

    this.cacheHits.inc({ upstream: label });
    this.cacheBytes.inc({ upstream: label, source: 'cache' }, bytes);
  }

  recordCacheMiss(upstream: string, bytes: number): void {
    const label = this.upstreamLabel(upstream);

    this.cacheMisses.inc({ upstream: label });
    this.cacheBytes.inc({ upstream: label, source: 'upstream' }, bytes);
  }

  recordAuthAttempt(method: AuthAttemptMethod, result: AuthAttemptResult): void {
    this.authAttempts.inc({ method, result });
  }

  recordScrub(summary: ScrubSummary): void {
    this.scrubRuns.inc({ result: summary.result });
    this.scrubDuration.observe(summary.durationSeconds);
    this.scrubBlobs.inc(summary.blobs);
    this.scrubBytes.inc(summary.bytes);

    for (const [problem, count] of Object.entries(summary.problems)) {
      this.scrubProblems.inc({ problem }, count);
    }
  }

  recordGc(summary: GcSummary): void {
    this.gcRuns.inc({ result: summary.result });
    this.gcDuration.observe(summary.durationSeconds);
    this.gcRemovedBytes.inc(summary.removed.bytes);

    for (const kind of gcKinds) {
      this.gcRemoved.inc({ kind }, summary.removed[`${kind}s`]);
    }
  }

  recordScan(summary: ScanSummary): void {
    this.scans.inc({
      result: summary.result,
      reason: scanReasons.has(summary.reason) ? summary.reason : 'other',
    });
    this.scanDuration.observe(summary.durationSeconds);
  }

  recordSignatureCheck(kind: string, verified: boolean): void {
    this.signatureChecks.inc({
      kind: signatureKinds.has(kind) ? kind : 'other',
      result: verified ? 'verified' : 'unverified',
    });
  }

  recordEviction(upstream: string, bytes: number): void {
    const label = this.upstreamLabel(upstream);

    this.cacheEvictions.inc({ upstream: label });
    this.cacheEvictedBytes.inc({ upstream: label }, bytes);
  }

  private upstreamLabel(prefix: string): string {
    return this.upstreamPrefixes.has(prefix) ? prefix : 'other';
  }
}

/** The `kind` labels of `wharf_gc_removed_total`. */
const gcKinds = ['tag', 'manifest', 'link', 'blob', 'file'] as const;

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Returns the method as a label value: one of the methods Wharf serves, or `other`. */
export function methodLabel(method: string): string {
  return knownMethods.has(method) ? method : 'other';
}
