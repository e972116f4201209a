import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Counter, Histogram, Registry } from 'prom-client';

import { metricNames } from './metric-definitions.js';
import { durationBuckets, RequestTallies } from './request-tallies.js';

/** Requests of two routes with durations that fall in the first, a middle and the overflow bucket. */
const requests: [string, string, number, number, number, number][] = [
  ['GET', '/v2/<name>/manifests/<reference>', 200, 0.001, 0, 512],
  ['GET', '/v2/<name>/manifests/<reference>', 200, 0.005, 0, 512],
  ['GET', '/v2/<name>/manifests/<reference>', 404, 0.3, 0, 120],
  ['PUT', '/v2/<name>/blobs/uploads/<session>', 201, 400, 1_000_000, 0],
  ['GET', '/v2/<name>/manifests/<reference>', 200, 0.0100001, 0, 512],
];

/** Returns the exposition lines of one family, without HELP and TYPE. */
async function samplesIn(registry: Registry, name: string): Promise<string[]> {
  assert.ok(registry.getSingleMetric(name), `${name} is not registered`);

  return (await registry.metrics())
    .split('\n')
    .filter((line) => line.startsWith(name) && /^(_bucket|_sum|_count)?[{ ]/.test(line.slice(name.length)));
}

describe('RequestTallies', () => {
  it('matches prom-client on the same requests', async () => {
    const tallied = new Registry();
    const reference = new Registry();
    const registers = [reference];
    const tallies = new RequestTallies();
    const requestCount = new Counter({
      name: metricNames.httpRequests,
      help: 'requests',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    const duration = new Histogram({
      name: metricNames.httpRequestDuration,
      help: 'duration',
      labelNames: ['method', 'route'],
      buckets: durationBuckets,
      registers,
    });
    const received = new Counter({
      name: metricNames.httpRequestBytes,
      help: 'received',
      labelNames: ['method', 'route'],
      registers,
    });
    const sent = new Counter({
      name: metricNames.httpResponseBytes,
      help: 'sent',
      labelNames: ['method', 'route'],
      registers,
    });

    tallies.register(tallied);

    for (const [method, route, status, seconds, requestBytes, responseBytes] of requests) {
      tallies.record(method, route, status, seconds, requestBytes, responseBytes);
      requestCount.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
      received.inc({ method, route }, requestBytes);
      sent.inc({ method, route }, responseBytes);
    }

    for (const name of [
      metricNames.httpRequests,
      metricNames.httpRequestDuration,
      metricNames.httpRequestBytes,
      metricNames.httpResponseBytes,
    ]) {
      const lines = await samplesIn(tallied, name);

      assert.ok(lines.length > 0, name);
      assert.deepEqual(lines, await samplesIn(reference, name), name);
    }
  });

  it('counts a bound in its own bucket', async () => {
    const registry = new Registry();
    const tallies = new RequestTallies();

    tallies.register(registry);
    tallies.record('HEAD', '/v2/', 200, 0.005, 0, 0);
    tallies.record('HEAD', '/v2/', 200, 0.0050001, 0, 0);

    const buckets = (await samplesIn(registry, metricNames.httpRequestDuration)).filter((line) =>
      line.includes('_bucket'),
    );

    assert.equal(
      buckets[0],
      `${metricNames.httpRequestDuration}_bucket{le="0.005",method="HEAD",route="/v2/"} 1`,
    );
    assert.equal(
      buckets[1],
      `${metricNames.httpRequestDuration}_bucket{le="0.01",method="HEAD",route="/v2/"} 2`,
    );
  });

  it('keeps the first registration, and resets', async () => {
    const registry = new Registry();
    const first = new RequestTallies();

    first.register(registry);
    new RequestTallies().register(registry);
    first.record('GET', '/v2/', 401, 0.001, 0, 87);

    assert.deepEqual(await samplesIn(registry, metricNames.httpRequests), [
      `${metricNames.httpRequests}{method="GET",route="/v2/",status="401"} 1`,
    ]);

    registry.resetMetrics();

    assert.deepEqual(await samplesIn(registry, metricNames.httpRequests), []);
  });
});
