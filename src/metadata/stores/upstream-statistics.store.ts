import { Inject, Injectable } from '@nestjs/common';
import { Between, type EntityManager, In } from 'typeorm';

import {
  UpstreamErrorEntity,
  UpstreamStatisticEntity,
  UpstreamStatisticSampleEntity,
} from '../entities/index.js';
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

/** One upstream's cumulative counters and cached storage at one time. */
export interface UpstreamSample {
  upstream: string;
  /** Epoch milliseconds, rounded down to the sample interval. */
  sampledAt: number;
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  errors: number;
  storageBytes: number;
}

/** Range and limits of a `samples` read. Times are epoch milliseconds, and both ends are included. */
export interface SampleQuery {
  upstreams: readonly string[];
  from: number;
  to: number;
  /** The sample interval: samples are written at multiples of it. */
  intervalMs: number;
  /** Maximum samples per upstream; at least 2. */
  maxSamples: number;
}

/** Samples of several upstreams, in time order, and the spacing they were read with. */
export interface SampleHistory {
  /** `intervalMs` when every sample of the range was returned, otherwise the spacing of the kept ones. */
  stepMs: number;
  /** Every upstream of the query, with an empty list when it has no sample in the range. */
  samples: Map<string, UpstreamSample[]>;
}

/** Round spacings that thinned samples use when one is a multiple of the sample interval. */
const roundStepsMs = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
].map((seconds) => seconds * 1000);

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

  /**
   * Sums, per upstream prefix, the sizes of the distinct blobs that the repositories under it link to
   * and of the manifests stored in them, whose bytes are blobs too. A digest that several repositories
   * of one prefix share counts once. One query covers every prefix, and a prefix with nothing cached
   * has 0.
   */
  async storageBytes(prefixes: readonly string[]): Promise<Map<string, number>> {
    const bytes = new Map(prefixes.map((prefix) => [prefix, 0]));

    if (prefixes.length === 0) {
      return bytes;
    }

    const rows = await this.db.read((manager) => queryStorageBytes(manager, prefixes));

    for (const row of rows) {
      bytes.set(prefixes[Number(row.prefix_index)], Number(row.bytes ?? 0));
    }

    return bytes;
  }

  /**
   * Inserts samples and deletes every sample taken before `deleteBefore` (epoch milliseconds), in one
   * transaction. A sample whose upstream and time are already stored is skipped, so replicas that
   * share the database keep the first one written. Returns how many samples were deleted.
   */
  async recordSamples(samples: readonly UpstreamSample[], deleteBefore: number): Promise<number> {
    return this.db.transaction(async (manager) => {
      if (samples.length > 0) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(UpstreamStatisticSampleEntity)
          .values([...samples])
          .orIgnore()
          .execute();
      }

      const deleted = await manager
        .createQueryBuilder()
        .delete()
        .from(UpstreamStatisticSampleEntity)
        .where('sampled_at < :deleteBefore', { deleteBefore })
        .execute();

      return deleted.affected ?? 0;
    });
  }

  /**
   * Reads the samples of a time range in time order. When an upstream has more than `maxSamples`
   * there, every upstream's samples are thinned with one step: the range is cut into intervals of
   * that step, aligned to the epoch, and the latest sample of each is kept. So the kept samples are
   * evenly spaced, the latest sample is always among them, and the earlier ones stay the same from one
   * call to the next.
   */
  async samples(query: SampleQuery): Promise<SampleHistory> {
    const history: SampleHistory = {
      stepMs: query.intervalMs,
      samples: new Map(query.upstreams.map((upstream) => [upstream, []])),
    };

    if (query.upstreams.length === 0) {
      return history;
    }

    const rows = await this.db.read(async (manager) => {
      const counts = await manager
        .createQueryBuilder(UpstreamStatisticSampleEntity, 's')
        .select('COUNT(*)', 'count')
        .where({ upstream: In([...query.upstreams]), sampledAt: Between(query.from, query.to) })
        .groupBy('s.upstream')
        .getRawMany<{ count: Numeric }>();

      if (!counts.some((row) => Number(row.count) > query.maxSamples)) {
        return manager.find(UpstreamStatisticSampleEntity, {
          where: { upstream: In([...query.upstreams]), sampledAt: Between(query.from, query.to) },
          order: { upstream: 'ASC', sampledAt: 'ASC' },
        });
      }

      history.stepMs = thinningStep(query.to - query.from, query.intervalMs, query.maxSamples);

      return readThinnedSamples(manager, query, history.stepMs);
    });

    for (const row of rows) {
      history.samples.get(row.upstream)?.push({ ...row });
    }

    return history;
  }
}

/**
 * Returns the step that keeps at most `maxSamples` samples of a range when one sample is kept per
 * epoch-aligned step. The step is a multiple of `intervalMs`, rounded up to a round duration such as
 * 5m or 1h when one is a multiple of the interval.
 */
export function thinningStep(rangeMs: number, intervalMs: number, maxSamples: number): number {
  // A range of R ms touches at most ceil(R / step) + 1 steps, so the step needs R / step <= maxSamples - 1.
  const smallest = intervalMs * Math.max(1, Math.ceil(rangeMs / ((maxSamples - 1) * intervalMs)));

  return roundStepsMs.find((step) => step >= smallest && step % intervalMs === 0) ?? smallest;
}

/**
 * Keeps, per upstream and per epoch-aligned step, the latest sample. `sampled_at / step` is an integer
 * division in SQLite and PostgreSQL alike, because both operands are integers.
 */
async function readThinnedSamples(
  manager: EntityManager,
  query: SampleQuery,
  stepMs: number,
): Promise<UpstreamStatisticSampleEntity[]> {
  const latestPerStep = manager
    .createQueryBuilder()
    .select('k.upstream', 'upstream')
    .addSelect('MAX(k.sampled_at)', 'sampled_at')
    .from(UpstreamStatisticSampleEntity, 'k')
    .where('k.upstream IN (:...upstreams)')
    .andWhere('k.sampled_at BETWEEN :from AND :to')
    .groupBy('k.upstream')
    .addGroupBy('k.sampled_at / :step');

  return manager
    .createQueryBuilder(UpstreamStatisticSampleEntity, 's')
    .innerJoin(
      `(${latestPerStep.getQuery()})`,
      'latest',
      'latest.upstream = s.upstream AND latest.sampled_at = s.sampled_at',
    )
    .setParameters({ upstreams: query.upstreams, from: query.from, to: query.to, step: stepMs })
    .orderBy('s.upstream', 'ASC')
    .addOrderBy('s.sampled_at', 'ASC')
    .getMany();
}

/**
 * Runs the storage query of `storageBytes`. Each row carries the index of its prefix in `prefixes`,
 * found with LIKE because PostgreSQL and SQLite both have it. UNION drops a digest that a prefix
 * reaches twice, through two repositories or as both a blob link and a manifest.
 */
function queryStorageBytes(
  manager: EntityManager,
  prefixes: readonly string[],
): Promise<{ prefix_index: Numeric; bytes: Numeric }[]> {
  const patterns = Object.fromEntries(
    prefixes.map((prefix, index) => [`pattern${index}`, `${escapeLike(prefix)}/%`]),
  );
  const matches = prefixes.map((_, index) => `r.name LIKE :pattern${index} ESCAPE '\\'`);
  const prefixIndex = `CASE ${matches.map((match, index) => `WHEN ${match} THEN ${index}`).join(' ')} END`;
  const underPrefixes = `(${matches.join(' OR ')})`;
  const sql = `SELECT owned.prefix_index AS prefix_index, SUM(b.size) AS bytes
    FROM (
      SELECT ${prefixIndex} AS prefix_index, rb.digest AS digest
      FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
      WHERE ${underPrefixes}
      UNION
      SELECT ${prefixIndex}, m.digest
      FROM manifests m JOIN repositories r ON r.id = m.repository_id
      WHERE ${underPrefixes}
    ) owned
    JOIN blobs b ON b.digest = owned.digest
    GROUP BY owned.prefix_index`;
  const [query, parameters] = manager.connection.driver.escapeQueryWithParameters(sql, patterns);

  return manager.query(query, parameters);
}

/** Escapes LIKE's wildcards and its escape character; upstream prefixes may contain `_`. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
