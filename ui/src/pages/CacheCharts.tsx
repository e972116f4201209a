import { useMemo, useState } from 'preact/hooks';

import { getUpstreamHistory, type HistoryRange, type UpstreamHistory } from '../api';
import { perInterval, sumSamples } from '../chart-data';
import { TimeChart } from '../components/TimeChart';
import { EmptyState, ErrorState, isNotFound, Loading } from '../components/states';
import { formatBytes, formatCount } from '../format';
import { useResource, type Resource } from '../hooks';
import { useTheme } from '../theme';

export interface CacheChartsProps {
  prefixes: string[];
  /** Changes when the page refreshes, which loads the history again. */
  refreshCount: number;
}

const ranges: { value: HistoryRange; label: string }[] = [
  { value: '1h', label: '1 h' },
  { value: '24h', label: '24 h' },
  { value: '7d', label: '7 d' },
];

/** Charts of requests, bytes and storage over time, from the sampled cache counters. */
export function CacheCharts({ prefixes, refreshCount }: CacheChartsProps) {
  const [range, setRange] = useState<HistoryRange>('1h');
  const [prefix, setPrefix] = useState<string>('');
  const history = useResource((signal) => getUpstreamHistory(range, signal), [range, refreshCount], {
    keepPrevious: true,
  });

  return (
    <section class="charts" aria-labelledby="charts-title" aria-busy={history.loading}>
      <div class="section-header">
        <h2 id="charts-title">Over time</h2>
        <div class="toolbar">
          <label class="field field-inline">
            <span>Upstream</span>
            <select value={prefix} onChange={(event) => setPrefix(event.currentTarget.value)}>
              <option value="">All upstreams</option>
              {prefixes.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <div class="segmented" role="group" aria-label="Time range">
            {ranges.map((entry) => (
              <button
                type="button"
                key={entry.value}
                aria-pressed={range === entry.value}
                onClick={() => setRange(entry.value)}
              >
                {entry.label}
              </button>
            ))}
          </div>
        </div>
      </div>
      <ChartsBody history={history} prefix={prefix === '' ? undefined : prefix} />
    </section>
  );
}

function ChartsBody({ history, prefix }: { history: Resource<UpstreamHistory>; prefix: string | undefined }) {
  if (history.error && !history.data) {
    return (
      <ErrorState
        error={history.error}
        onRetry={history.reload}
        title={
          isNotFound(history.error)
            ? 'This server does not record statistics over time'
            : 'Could not load the charts'
        }
      />
    );
  }

  if (!history.data) {
    return <Loading label="Loading statistics…" />;
  }

  return <Charts history={history.data} prefix={prefix} />;
}

function Charts({ history, prefix }: { history: UpstreamHistory; prefix: string | undefined }) {
  const { theme } = useTheme();
  const data = useMemo(() => chartData(history, prefix), [history, prefix]);

  const span: [number, number] = [Date.parse(history.from) / 1000, Date.parse(history.to) / 1000];

  // Traffic per interval is the difference between two samples, so the charts need at least two.
  if (data.storage.times.length < 2) {
    return (
      <EmptyState title={data.storage.times.length === 0 ? 'No samples yet' : 'Collecting samples'}>
        <p>
          Wharf saves the cache counters every {formatSeconds(history.intervalSeconds)} (the setting{' '}
          <code>statistics.sampleInterval</code>). The charts appear once this time range has two samples.
        </p>
      </EmptyState>
    );
  }

  return (
    <div class="chart-grid">
      <TimeChart
        title="Requests per interval"
        times={data.requests.times}
        series={data.requests.series}
        format={formatCount}
        span={span}
        theme={theme}
        summary={`${formatCount(data.requests.totals[0])} hits and ${formatCount(data.requests.totals[1])} misses in this range.`}
      />
      <TimeChart
        title="Bytes per interval"
        times={data.bytes.times}
        series={data.bytes.series}
        format={formatBytes}
        binary
        span={span}
        theme={theme}
        summary={`${formatBytes(data.bytes.totals[0])} served from cache and ${formatBytes(data.bytes.totals[1])} fetched from upstream in this range.`}
      />
      <TimeChart
        title="Storage used"
        times={data.storage.times}
        series={data.storage.series}
        format={formatBytes}
        binary
        span={span}
        theme={theme}
        summary={`${formatBytes(data.storage.latest)} stored at the latest sample.`}
      />
    </div>
  );
}

function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) {
    return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  }

  if (seconds % 60 === 0) {
    return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  }

  return seconds === 1 ? 'second' : `${seconds} seconds`;
}

function chartData(history: UpstreamHistory, prefix: string | undefined) {
  const summed = sumSamples(history, prefix);
  const hits = perInterval(summed.times, summed.values.hits);
  const misses = perInterval(summed.times, summed.values.misses);
  const served = perInterval(summed.times, summed.values.bytesServed);
  const fetched = perInterval(summed.times, summed.values.bytesFetched);
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

  return {
    requests: {
      times: hits.times,
      series: [
        { label: 'Hits', values: hits.values, color: '--chart-hit' },
        { label: 'Misses', values: misses.values, color: '--chart-miss' },
      ],
      totals: [sum(hits.values), sum(misses.values)],
    },
    bytes: {
      times: served.times,
      series: [
        { label: 'Served from cache', values: served.values, color: '--chart-hit' },
        { label: 'Fetched from upstream', values: fetched.values, color: '--chart-miss' },
      ],
      totals: [sum(served.values), sum(fetched.values)],
    },
    storage: {
      times: summed.times,
      series: [{ label: 'Storage used', values: summed.values.storageBytes, color: '--chart-storage' }],
      latest: summed.values.storageBytes.at(-1) ?? 0,
    },
  };
}
