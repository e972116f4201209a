import type { HistorySample, UpstreamHistory } from './api';

type Counter = Exclude<keyof HistorySample, 'at'>;

/** Sample times in seconds and the summed counters at each, for the upstreams shown. */
export interface SummedSamples {
  times: number[];
  values: Record<Counter, number[]>;
}

const counters: Counter[] = [
  'hits',
  'misses',
  'bytesFetched',
  'bytesServed',
  'notFound',
  'errors',
  'storageBytes',
];

/**
 * Sums the samples of the chosen upstreams (all when `prefix` is undefined) at each sample time.
 * Samples are aligned to the sampling interval, so upstreams mostly share times. Where one upstream has
 * no sample at a time, its latest earlier sample counts (or its first one, before it has any), so that
 * a missing sample does not show as a drop followed by a spike.
 */
export function sumSamples(history: UpstreamHistory, prefix: string | undefined): SummedSamples {
  const chosen = history.upstreams.filter((upstream) => prefix === undefined || upstream.prefix === prefix);
  const times = [
    ...new Set(chosen.flatMap((upstream) => upstream.samples.map((sample) => Date.parse(sample.at)))),
  ].sort((a, b) => a - b);
  const values = Object.fromEntries(counters.map((counter) => [counter, times.map(() => 0)])) as Record<
    Counter,
    number[]
  >;

  for (const upstream of chosen) {
    addUpstream(values, times, upstream.samples);
  }

  return { times: times.map((time) => time / 1000), values };
}

function addUpstream(values: Record<Counter, number[]>, times: number[], samples: HistorySample[]): void {
  const sorted = [...samples].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  let next = 0;

  if (sorted.length === 0) {
    return;
  }

  times.forEach((time, index) => {
    while (next < sorted.length && Date.parse(sorted[next].at) <= time) {
      next++;
    }

    const sample = sorted[Math.max(0, next - 1)];

    for (const counter of counters) {
      values[counter][index] += sample[counter];
    }
  });
}

/**
 * Turns cumulative counters into the amount per interval, at the end time of each interval. A counter
 * that went down (the statistics were reset) counts as 0 for that interval.
 */
export function perInterval(times: number[], cumulative: number[]): { times: number[]; values: number[] } {
  return {
    times: times.slice(1),
    values: cumulative.slice(1).map((value, index) => Math.max(0, value - cumulative[index])),
  };
}
