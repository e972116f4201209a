import { Inject, Injectable } from '@nestjs/common';

import { UpstreamErrorEntity, UpstreamStatisticEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

/** The pull-through counters of one upstream, summed over its repositories. */
export interface UpstreamTotals {
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  errors: number;
  /** Upstream failures by kind, such as `timeout` or `rate-limited`. */
  errorsByKind: Record<string, number>;
}

type Numeric = number | string | null;

interface TotalsRow {
  upstream: string;
  hits: Numeric;
  misses: Numeric;
  bytesFetched: Numeric;
  bytesServed: Numeric;
  notFound: Numeric;
  errors: Numeric;
}

/** Reads the `upstream_statistics` and `upstream_errors` tables that UpstreamStatistics writes. */
@Injectable()
export class UpstreamStatisticsStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /** Sums the counters per upstream prefix; upstreams without any counted request are absent. */
  async totals(): Promise<Map<string, UpstreamTotals>> {
    return this.db.read(async (manager) => {
      const rows = await manager
        .createQueryBuilder(UpstreamStatisticEntity, 's')
        .select('s.upstream', 'upstream')
        .addSelect('SUM(s.hits)', 'hits')
        .addSelect('SUM(s.misses)', 'misses')
        .addSelect('SUM(s.bytes_fetched)', 'bytesFetched')
        .addSelect('SUM(s.bytes_served)', 'bytesServed')
        .addSelect('SUM(s.not_found)', 'notFound')
        .addSelect('SUM(s.errors)', 'errors')
        .groupBy('s.upstream')
        .getRawMany<TotalsRow>();
      const errorRows = await manager
        .createQueryBuilder(UpstreamErrorEntity, 'e')
        .select('e.upstream', 'upstream')
        .addSelect('e.kind', 'kind')
        .addSelect('SUM(e.count)', 'count')
        .groupBy('e.upstream')
        .addGroupBy('e.kind')
        .getRawMany<{ upstream: string; kind: string; count: Numeric }>();
      const totals = new Map<string, UpstreamTotals>();

      for (const row of rows) {
        totals.set(row.upstream, {
          hits: Number(row.hits ?? 0),
          misses: Number(row.misses ?? 0),
          bytesFetched: Number(row.bytesFetched ?? 0),
          bytesServed: Number(row.bytesServed ?? 0),
          notFound: Number(row.notFound ?? 0),
          errors: Number(row.errors ?? 0),
          errorsByKind: {},
        });
      }

      for (const row of errorRows) {
        const entry = totals.get(row.upstream);

        if (entry) {
          entry.errorsByKind[row.kind] = Number(row.count ?? 0);
        }
      }

      return totals;
    });
  }
}
