import type { FactoryProvider } from '@nestjs/common';
import { type MetricValue, register, type Registry } from 'prom-client';

import { metricNames } from './metric-definitions.js';

/** Request durations in seconds: from fast manifest HEADs to multi-gigabyte blob transfers. */
export const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The Prometheus types of the families here. */
type FamilyType = 'counter' | 'histogram';

/** Counts of the requests of one method and route template. */
interface RouteTally {
  method: string;
  route: string;
  /** Requests by status code. */
  statuses: Map<number, number>;
  /** Requests whose duration fell in each bucket, not cumulative; the last entry is over the top bound. */
  bucketCounts: number[];
  durationSum: number;
  count: number;
  requestBytes: number;
  responseBytes: number;
}

/** A metric family as prom-client's registry reads it: `get` returns its samples when Prometheus scrapes. */
export interface TalliedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: FamilyType;
    aggregator: 'sum';
    values: MetricValue<string>[];
  }>;
  reset(): void;
}

/**
 * The HTTP request metrics: `wharf_http_requests_total`, `wharf_http_request_duration_seconds`,
 * `wharf_http_request_bytes_total` and `wharf_http_response_bytes_total`. Every request adds to them,
 * and prom-client's counters and histograms hash their label objects on each call, which took about a
 * tenth of the main thread under manifest GETs in a CPU profile. Here a request adds numbers to one
 * tally per method and route, found by a string key, and the samples are built only when Prometheus
 * scrapes.
 */
export class RequestTallies {
  private readonly tallies = new Map<string, RouteTally>();

  /** Records one finished request. `method` and `route` are label values, bounded by the caller. */
  record(
    method: string,
    route: string,
    status: number,
    durationSeconds: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    const key = `${method} ${route}`;
    let tally = this.tallies.get(key);

    if (tally === undefined) {
      tally = {
        method,
        route,
        statuses: new Map(),
        bucketCounts: new Array<number>(durationBuckets.length + 1).fill(0),
        durationSum: 0,
        count: 0,
        requestBytes: 0,
        responseBytes: 0,
      };
      this.tallies.set(key, tally);
    }

    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    tally.bucketCounts[bucketOf(durationSeconds)] += 1;
    tally.durationSum += durationSeconds;
    tally.count += 1;
    tally.requestBytes += requestBytes;
    tally.responseBytes += responseBytes;
  }

  /** Returns the four families, for a prom-client registry. */
  families(): TalliedFamily[] {
    return [
      this.family(
        metricNames.httpRequests,
        'HTTP requests completed, by method, route template and status code.',
        'counter',
        (tally) =>
          [...tally.statuses].map(([status, value]) => ({
            labels: { method: tally.method, route: tally.route, status: String(status) },
            value,
          })),
      ),
      this.family(
        metricNames.httpRequestDuration,
        'Time from receiving a request to sending the last byte of its response, by method and route template.',
        'histogram',
        durationSamples,
      ),
      this.family(
        metricNames.httpRequestBytes,
        'Request body bytes received, counted as the body arrives and added when the response ends. Headers are not counted.',
        'counter',
        (tally) => [{ labels: routeLabels(tally), value: tally.requestBytes }],
      ),
      this.family(
        metricNames.httpResponseBytes,
        'Response body bytes written, counted when the response ends. Headers and the bodies of HEAD, 204 and 304 responses are not counted.',
        'counter',
        (tally) => [{ labels: routeLabels(tally), value: tally.responseBytes }],
      ),
    ];
  }

  /**
   * Registers the families in `registry`. A registry that already contains them (a second application in
   * the same process, as in tests) keeps the first, like prom-client's own metrics.
   */
  register(registry: Registry): void {
    for (const family of this.families()) {
      if (registry.getSingleMetric(family.name) === undefined) {
        // prom-client 15's registry reads only `name`, `help`, `type`, `get()` and `reset()` of a metric.
        registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
      }
    }
  }

  private family(
    name: string,
    help: string,
    type: FamilyType,
    samples: (tally: RouteTally) => MetricValue<string>[],
  ): TalliedFamily {
    const tallies = this.tallies;

    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: () =>
        Promise.resolve({
          name,
          help,
          type,
          aggregator: 'sum',
          values: [...tallies.values()].flatMap(samples),
        }),
      reset: () => tallies.clear(),
    };
  }
}

/** Returns the index of the first bucket whose upper bound is at least `seconds`, or the overflow bucket. */
function bucketOf(seconds: number): number {
  let index = 0;

  while (index < durationBuckets.length && seconds > durationBuckets[index]) {
    index += 1;
  }

  return index;
}

function routeLabels(tally: RouteTally): Record<string, string> {
  return { method: tally.method, route: tally.route };
}

/** Returns the samples of a histogram, as Prometheus expects them: cumulative buckets, `+Inf`, sum and count. */
function durationSamples(tally: RouteTally): MetricValue<string>[] {
  const name = metricNames.httpRequestDuration;
  const samples: (MetricValue<string> & { metricName: string })[] = [];
  let cumulative = 0;

  durationBuckets.forEach((bound, index) => {
    cumulative += tally.bucketCounts[index];
    samples.push({
      metricName: `${name}_bucket`,
      labels: { le: bound, ...routeLabels(tally) },
      value: cumulative,
    });
  });

  samples.push(
    { metricName: `${name}_bucket`, labels: { le: '+Inf', ...routeLabels(tally) }, value: tally.count },
    { metricName: `${name}_sum`, labels: routeLabels(tally), value: tally.durationSum },
    { metricName: `${name}_count`, labels: routeLabels(tally), value: tally.count },
  );

  return samples;
}

/** One per process, like prom-client's default registry, which every application in the process shares. */
const processTallies = new RequestTallies();

/** Returns the process's RequestTallies, registered in prom-client's default registry. */
export function defaultRequestTallies(): RequestTallies {
  processTallies.register(register);

  return processTallies;
}

/** Provides the process's RequestTallies to the metrics module. */
export const requestTalliesProvider: FactoryProvider<RequestTallies> = {
  provide: RequestTallies,
  useFactory: defaultRequestTallies,
};
