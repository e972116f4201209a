import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Provider } from '@nestjs/common';
import type { Gauge } from 'prom-client';

import { ScanResultStore } from '../metadata/stores/scan-result.store.js';
import { SigningStore } from '../metadata/stores/signing.store.js';
import { type StorageStatistics, StorageStatisticsSnapshot } from './storage-statistics-snapshot.js';

/**
 * Names of Wharf's own metrics. Every label value is chosen by Wharf from a fixed set or from the
 * configuration (upstream prefixes), never taken from a request, so a client cannot create series.
 */
export const metricNames = {
  info: 'wharf_info',
  httpRequests: 'wharf_http_requests_total',
  httpRequestDuration: 'wharf_http_request_duration_seconds',
  httpRequestBytes: 'wharf_http_request_bytes_total',
  httpResponseBytes: 'wharf_http_response_bytes_total',
  uploadSize: 'wharf_upload_size_bytes',
  uploadsInProgress: 'wharf_uploads_in_progress',
  upstreamRequests: 'wharf_upstream_requests_total',
  upstreamErrors: 'wharf_upstream_errors_total',
  cacheHits: 'wharf_cache_hits_total',
  cacheMisses: 'wharf_cache_misses_total',
  cacheBytes: 'wharf_cache_bytes_total',
  storedBytes: 'wharf_stored_bytes',
  storedBlobs: 'wharf_stored_blobs',
  storedManifests: 'wharf_stored_manifests',
  repositories: 'wharf_repositories',
  tags: 'wharf_tags',
  authAttempts: 'wharf_auth_attempts_total',
  scrubRuns: 'wharf_scrub_runs_total',
  scrubDuration: 'wharf_scrub_duration_seconds',
  scrubBlobs: 'wharf_scrub_blobs_total',
  scrubBytes: 'wharf_scrub_bytes_total',
  scrubProblems: 'wharf_scrub_problems_total',
  gcRuns: 'wharf_gc_runs_total',
  gcDuration: 'wharf_gc_duration_seconds',
  gcRemoved: 'wharf_gc_removed_total',
  gcRemovedBytes: 'wharf_gc_removed_bytes_total',
  cacheEvictions: 'wharf_cache_evictions_total',
  cacheEvictedBytes: 'wharf_cache_evicted_bytes_total',
  scans: 'wharf_scans_total',
  scanDuration: 'wharf_scan_duration_seconds',
  scannedImages: 'wharf_scanned_images',
  signatureChecks: 'wharf_signature_checks_total',
  signedImages: 'wharf_signed_images',
  findings: 'wharf_vulnerability_findings',
} as const;

/** Prefix of the Node.js process metrics that prom-client's collectDefaultMetrics adds. */
export const defaultMetricsPrefix = 'wharf_';

/** Image scan durations in seconds: from a small image to one of many gigabytes. */
const scanDurationBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/** Scrub and garbage collection durations in seconds: from a few blobs to a store of terabytes. */
const scrubDurationBuckets = [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600];

const kibibyte = 1024;
const mebibyte = 1024 * kibibyte;
const gibibyte = 1024 * mebibyte;

/** Blob sizes from small configs to large layers. */
const uploadSizeBuckets = [
  kibibyte,
  16 * kibibyte,
  256 * kibibyte,
  mebibyte,
  4 * mebibyte,
  16 * mebibyte,
  64 * mebibyte,
  256 * mebibyte,
  gibibyte,
  4 * gibibyte,
  16 * gibibyte,
];

/** The severities findings are counted under, highest first. */
const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'];

/** Gauges of the stored scan results, read from the metadata database when Prometheus scrapes. */
const scanGauges: Provider[] = [
  makeGaugeProvider({
    name: metricNames.scannedImages,
    help: 'Image manifests with a finished scan, read from the metadata database at scrape time.',
    inject: [ScanResultStore],
    collect(this: Gauge<string>, store: ScanResultStore) {
      this.set(store.totals([]).images);
    },
  }),
  makeGaugeProvider({
    name: metricNames.findings,
    help: 'Findings of the last scan of every scanned image manifest, by severity, read from the metadata database at scrape time. An advisory that affects two packages of an image counts twice.',
    labelNames: ['severity'],
    inject: [ScanResultStore],
    collect(this: Gauge<string>, store: ScanResultStore) {
      const { findings } = store.totals(severities);

      for (const severity of severities) {
        this.set({ severity }, findings[severity]);
      }
    },
  }),
];

/** Images with stored signatures, by verdict, read from the metadata database when Prometheus scrapes. */
const signedImagesGauge = makeGaugeProvider({
  name: metricNames.signedImages,
  help: 'Images with a stored signature, by verdict: verified (a signature verified against the configured trust) or unverified (signed, but none verified). Counted per repository, read from the metadata database at scrape time.',
  labelNames: ['state'],
  inject: [SigningStore],
  collect(this: Gauge<string>, store: SigningStore) {
    const counts = store.countByState();

    for (const state of ['verified', 'unverified']) {
      this.set({ state }, counts[state] ?? 0);
    }
  },
});

/** Gauges read from the metadata database when Prometheus scrapes, one query for all of them. */
function storageGauge(name: string, help: string, read: (statistics: StorageStatistics) => number): Provider {
  return makeGaugeProvider({
    name,
    help,
    inject: [StorageStatisticsSnapshot],
    async collect(this: Gauge<string>, snapshot: StorageStatisticsSnapshot) {
      const statistics = await snapshot.current();

      // Without a reading the gauge keeps its previous value, and the snapshot logs the failure.
      if (statistics !== undefined) {
        this.set(read(statistics));
      }
    },
  });
}

/** Providers of every Wharf metric, injectable with `@InjectMetric(name)`. */
export const metricProviders: Provider[] = [
  ...scanGauges,
  signedImagesGauge,
  makeCounterProvider({
    name: metricNames.signatureChecks,
    help: 'Signatures checked, by kind (cosign, sigstore-bundle or notation) and result (verified or unverified). A signature counts each time its image is checked, such as after a trust change.',
    labelNames: ['kind', 'result'],
  }),
  makeGaugeProvider({
    name: metricNames.info,
    help: 'Always 1. The version label is the running Wharf version.',
    labelNames: ['version'],
  }),
  makeHistogramProvider({
    name: metricNames.uploadSize,
    help: 'Sizes of blob uploads that completed with a verified digest, both sessions and single POSTs.',
    buckets: uploadSizeBuckets,
  }),
  makeCounterProvider({
    name: metricNames.upstreamRequests,
    help: 'Requests to upstream registries by prefix and result, each counted once with its retries, token request and redirects.',
    labelNames: ['upstream', 'result'],
  }),
  makeCounterProvider({
    name: metricNames.upstreamErrors,
    help: 'Upstream failures by prefix and kind, including transfers that broke or did not match their digest after a successful response.',
    labelNames: ['upstream', 'kind'],
  }),
  makeCounterProvider({
    name: metricNames.cacheHits,
    help: 'Manifests and blobs of pull-through prefixes served from the cache, including clients that joined a transfer in progress.',
    labelNames: ['upstream'],
  }),
  makeCounterProvider({
    name: metricNames.cacheMisses,
    help: 'Manifests and blobs of pull-through prefixes fetched from the upstream and cached.',
    labelNames: ['upstream'],
  }),
  makeCounterProvider({
    name: metricNames.cacheBytes,
    help: 'Bytes of pull-through content, by where they came from: source="cache" for hits, source="upstream" for what the upstream sent on misses.',
    labelNames: ['upstream', 'source'],
  }),
  makeCounterProvider({
    name: metricNames.authAttempts,
    help: 'Credential checks by method (htpasswd, api-key, token) and result (success, failure, rate-limited).',
    labelNames: ['method', 'result'],
  }),
  makeCounterProvider({
    name: metricNames.scrubRuns,
    help: 'Scrubs that ended, by result: finished, or failed (an error, or stopped by shutdown).',
    labelNames: ['result'],
  }),
  makeHistogramProvider({
    name: metricNames.scrubDuration,
    help: 'How long each scrub took, from start to end.',
    buckets: scrubDurationBuckets,
  }),
  makeCounterProvider({
    name: metricNames.scrubBlobs,
    help: 'Blobs that scrubs read back and hashed.',
  }),
  makeCounterProvider({
    name: metricNames.scrubBytes,
    help: 'Bytes that scrubs read back and hashed.',
  }),
  makeCounterProvider({
    name: metricNames.scrubProblems,
    help: 'Broken blobs that scrubs found, by problem: missing, corrupt (bytes of another digest) or size (another recorded size).',
    labelNames: ['problem'],
  }),
  makeCounterProvider({
    name: metricNames.gcRuns,
    help: 'Garbage collections that ended, by result: finished, or failed (an error, or stopped by shutdown). Dry runs are not counted.',
    labelNames: ['result'],
  }),
  makeHistogramProvider({
    name: metricNames.gcDuration,
    help: 'How long each garbage collection took, from start to end.',
    buckets: scrubDurationBuckets,
  }),
  makeCounterProvider({
    name: metricNames.gcRemoved,
    help: "What garbage collection deleted, by kind: tag, manifest, link (a repository's link to a blob), blob, or file (bytes without a row).",
    labelNames: ['kind'],
  }),
  makeCounterProvider({
    name: metricNames.gcRemovedBytes,
    help: 'Bytes of blobs and files that garbage collection deleted from disk.',
  }),
  makeCounterProvider({
    name: metricNames.scans,
    help: 'Image scans that ended, by result (finished or failed) and by why they were queued: push, cache (a pull-through cache fill), database (the vulnerability database changed), request or backfill (an image stored before scanning ran).',
    labelNames: ['result', 'reason'],
  }),
  makeHistogramProvider({
    name: metricNames.scanDuration,
    help: 'How long each image scan took, from reading the first layer to storing the findings.',
    buckets: scanDurationBuckets,
  }),
  makeCounterProvider({
    name: metricNames.cacheEvictions,
    help: 'Images evicted from the cache of an upstream because it was over its maxSize.',
    labelNames: ['upstream'],
  }),
  makeCounterProvider({
    name: metricNames.cacheEvictedBytes,
    help: 'Bytes the cache of an upstream stopped holding through evictions.',
    labelNames: ['upstream'],
  }),
  storageGauge(
    metricNames.uploadsInProgress,
    'Upload sessions started and not yet completed or cancelled, read from the metadata database at scrape time. Single-POST uploads are not sessions.',
    (statistics) => statistics.uploadSessions,
  ),
  storageGauge(
    metricNames.storedBytes,
    'Total size of the stored blobs (layers, configs and manifests, each once), read from the metadata database at scrape time. Blobs deleted from their repositories stay counted until garbage collection removes them.',
    (statistics) => statistics.blobBytes,
  ),
  storageGauge(
    metricNames.storedBlobs,
    'Stored blobs (layers, configs and manifests, each digest once), read from the metadata database at scrape time.',
    (statistics) => statistics.blobs,
  ),
  storageGauge(
    metricNames.storedManifests,
    'Manifests, counted once for each repository that contains them, read from the metadata database at scrape time.',
    (statistics) => statistics.manifests,
  ),
  storageGauge(
    metricNames.repositories,
    'Repositories, local and cached, read from the metadata database at scrape time.',
    (statistics) => statistics.repositories,
  ),
  storageGauge(
    metricNames.tags,
    'Tags across all repositories, read from the metadata database at scrape time.',
    (statistics) => statistics.tags,
  ),
];
