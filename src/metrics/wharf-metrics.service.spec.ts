import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { WharfConfig } from '../config/config.schema.js';
import { metricNames } from './metric-definitions.js';
import { RequestTallies } from './request-tallies.js';
import { WharfMetrics } from './wharf-metrics.service.js';

/** Builds the service on metrics in a registry of their own, so tests do not share counts. */
function createMetrics(upstreamPrefixes: string[]): { metrics: WharfMetrics; registry: Registry } {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, labelNames: string[]) =>
    new Counter({ name, help: name, labelNames, registers });
  const config = Object.assign(new WharfConfig(), {
    upstreams: upstreamPrefixes.map((prefix) => ({ prefix, url: `https://${prefix}.example` })),
  });
  const requestTallies = new RequestTallies();

  requestTallies.register(registry);

  const metrics = new WharfMetrics(
    config,
    new Gauge({ name: metricNames.info, help: 'info', labelNames: ['version'], registers }),
    requestTallies,
    new Histogram({ name: metricNames.uploadSize, help: 'uploads', registers }),
    counter(metricNames.upstreamRequests, ['upstream', 'result']),
    counter(metricNames.upstreamErrors, ['upstream', 'kind']),
    counter(metricNames.cacheHits, ['upstream']),
    counter(metricNames.cacheMisses, ['upstream']),
    counter(metricNames.cacheBytes, ['upstream', 'source']),
    counter(metricNames.authAttempts, ['method', 'result']),
    counter(metricNames.scrubRuns, ['result']),
    new Histogram({ name: metricNames.scrubDuration, help: 'scrubs', registers }),
    counter(metricNames.scrubBlobs, []),
    counter(metricNames.scrubBytes, []),
    counter(metricNames.scrubProblems, ['problem']),
    counter(metricNames.gcRuns, ['result']),
    new Histogram({ name: metricNames.gcDuration, help: 'collections', registers }),
    counter(metricNames.gcRemoved, ['kind']),
    counter(metricNames.gcRemovedBytes, []),
    counter(metricNames.cacheEvictions, ['upstream']),
    counter(metricNames.cacheEvictedBytes, ['upstream']),
    counter(metricNames.scans, ['result', 'reason']),
    new Histogram({ name: metricNames.scanDuration, help: 'scans', registers }),
    counter(metricNames.signatureChecks, ['kind', 'result']),
  );

  return { metrics, registry };
}

/** Returns the label sets and values of one metric. */
async function samplesOf(registry: Registry, name: string) {
  const metric = registry.getSingleMetric(name);

  assert.ok(metric, `${name} is not registered`);

  return (await metric.get()).values.map(({ labels, value }) => ({ labels, value }));
}

describe('WharfMetrics', () => {
  it('starts cache series at zero for each upstream', async () => {
    const { registry } = createMetrics(['docker', 'ghcr']);
    const hits = await samplesOf(registry, metricNames.cacheHits);

    assert.deepEqual(hits, [
      { labels: { upstream: 'docker' }, value: 0 },
      { labels: { upstream: 'ghcr' }, value: 0 },
    ]);
  });

  it('reports the package version', async () => {
    const { registry } = createMetrics([]);
    const [info] = await samplesOf(registry, metricNames.info);

    assert.equal(info.value, 1);
    assert.match(String(info.labels.version), /^\d+\.\d+\.\d+/);
  });

  it('counts unknown upstreams as other', async () => {
    const { metrics, registry } = createMetrics(['docker']);

    metrics.recordCacheHit('docker', 100);
    metrics.recordCacheMiss('not-configured', 50);
    metrics.recordUpstreamRequest('also-not-configured', 'timeout');

    const bytes = await samplesOf(registry, metricNames.cacheBytes);
    const requests = await samplesOf(registry, metricNames.upstreamRequests);

    assert.ok(bytes.some((sample) => sample.labels.upstream === 'docker' && sample.value === 100));
    assert.ok(bytes.some((sample) => sample.labels.upstream === 'other' && sample.value === 50));
    assert.deepEqual(requests, [{ labels: { upstream: 'other', result: 'timeout' }, value: 1 }]);
  });

  it('counts unknown error kinds as other', async () => {
    const { metrics, registry } = createMetrics(['docker']);

    metrics.recordUpstreamError('docker', 'refused');
    metrics.recordUpstreamError('docker', 'something-new');

    assert.deepEqual(await samplesOf(registry, metricNames.upstreamErrors), [
      { labels: { upstream: 'docker', kind: 'refused' }, value: 1 },
      { labels: { upstream: 'docker', kind: 'other' }, value: 1 },
    ]);
  });

  it('counts unknown methods as other', async () => {
    const { metrics, registry } = createMetrics([]);
    const sample = { route: '/v2/', status: 404, durationSeconds: 0.01, requestBytes: 3, responseBytes: 7 };

    metrics.recordRequest({ ...sample, method: 'GET' });
    metrics.recordRequest({ ...sample, method: 'PROPFIND' });
    metrics.recordRequest({ ...sample, method: 'MKCOL' });

    assert.deepEqual(await samplesOf(registry, metricNames.httpRequests), [
      { labels: { method: 'GET', route: '/v2/', status: '404' }, value: 1 },
      { labels: { method: 'other', route: '/v2/', status: '404' }, value: 2 },
    ]);
    assert.deepEqual(await samplesOf(registry, metricNames.httpResponseBytes), [
      { labels: { method: 'GET', route: '/v2/' }, value: 7 },
      { labels: { method: 'other', route: '/v2/' }, value: 14 },
    ]);
  });

  it('adds up scrubs', async () => {
    const { metrics, registry } = createMetrics([]);

    metrics.recordScrub({
      result: 'finished',
      durationSeconds: 12,
      blobs: 40,
      bytes: 4096,
      problems: { missing: 1, corrupt: 2, size: 0 },
    });
    metrics.recordScrub({
      result: 'failed',
      durationSeconds: 3,
      blobs: 5,
      bytes: 100,
      problems: { missing: 0, corrupt: 1, size: 0 },
    });

    assert.deepEqual(await samplesOf(registry, metricNames.scrubRuns), [
      { labels: { result: 'finished' }, value: 1 },
      { labels: { result: 'failed' }, value: 1 },
    ]);
    assert.deepEqual(await samplesOf(registry, metricNames.scrubBlobs), [{ labels: {}, value: 45 }]);
    assert.deepEqual(await samplesOf(registry, metricNames.scrubBytes), [{ labels: {}, value: 4196 }]);
    assert.deepEqual(await samplesOf(registry, metricNames.scrubProblems), [
      { labels: { problem: 'missing' }, value: 1 },
      { labels: { problem: 'corrupt' }, value: 3 },
      { labels: { problem: 'size' }, value: 0 },
    ]);
  });

  it('adds up garbage collections and evictions', async () => {
    const { metrics, registry } = createMetrics(['hub']);
    const removed = { tags: 2, manifests: 3, links: 4, blobs: 5, files: 1, bytes: 9000 };

    metrics.recordGc({ result: 'finished', durationSeconds: 2, removed });
    metrics.recordGc({ result: 'finished', durationSeconds: 1, removed: { ...removed, bytes: 1000 } });
    metrics.recordEviction('hub', 700);
    metrics.recordEviction('elsewhere', 50);

    assert.deepEqual(await samplesOf(registry, metricNames.gcRuns), [
      { labels: { result: 'finished' }, value: 2 },
    ]);
    assert.deepEqual(await samplesOf(registry, metricNames.gcRemoved), [
      { labels: { kind: 'tag' }, value: 4 },
      { labels: { kind: 'manifest' }, value: 6 },
      { labels: { kind: 'link' }, value: 8 },
      { labels: { kind: 'blob' }, value: 10 },
      { labels: { kind: 'file' }, value: 2 },
    ]);
    assert.deepEqual(await samplesOf(registry, metricNames.gcRemovedBytes), [{ labels: {}, value: 10000 }]);
    assert.deepEqual(await samplesOf(registry, metricNames.cacheEvictions), [
      { labels: { upstream: 'hub' }, value: 1 },
      { labels: { upstream: 'other' }, value: 1 },
    ]);
    assert.deepEqual(await samplesOf(registry, metricNames.cacheEvictedBytes), [
      { labels: { upstream: 'hub' }, value: 700 },
      { labels: { upstream: 'other' }, value: 50 },
    ]);
  });
});
