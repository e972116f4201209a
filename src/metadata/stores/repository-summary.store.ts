import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager, SelectQueryBuilder } from 'typeorm';

import { RepositoryEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import { findRepositoryId } from './repository.store.js';

/** Filter of a repository listing. Absent fields do not filter. */
export interface RepositoryFilter {
  /** Substring of the name, matched literally (`%` and `_` are not wildcards). */
  contains?: string;
  /** Keep only names whose first path component is one of these; an empty list keeps none. */
  namespaces?: readonly string[];
  /** Drop names whose first path component is one of these. */
  excludedNamespaces?: readonly string[];
}

export type RepositorySortKey = 'name' | 'lastPush' | 'lastPull';

export interface RepositorySort {
  key: RepositorySortKey;
  direction: 'asc' | 'desc';
}

/** One repository with the totals a listing shows; times are epoch milliseconds. */
export interface RepositorySummary {
  name: string;
  createdAt: number;
  /** Sum of the sizes of the distinct blobs linked to the repository; manifest bytes are not included. */
  size: number;
  tagCount: number;
  manifestCount: number;
  /** Latest manifest write or tag change, null when the repository contains neither. */
  lastPushAt: number | null;
  /** Latest recorded pull of one of its manifests or blobs, null when none was recorded. */
  lastPullAt: number | null;
}

/** A tag with the manifest it points to; times are epoch milliseconds. */
export interface TagSummary {
  name: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  /** Size of the manifest's own bytes. */
  manifestSize: number;
  updatedAt: number;
  /** Latest recorded pull of the tagged manifest. */
  lastPulledAt: number | null;
}

export interface CountedPage<T> {
  total: number;
  items: T[];
}

const sizeExpression = `(SELECT COALESCE(SUM(b.size), 0) FROM repository_blobs rb
  JOIN blobs b ON b.digest = rb.digest WHERE rb.repository_id = r.id)`;
const tagCountExpression = '(SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id)';
const manifestCountExpression = '(SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id)';
const lastPushExpression = `(SELECT MAX(changes.at) FROM (
  SELECT m.created_at AS at FROM manifests m WHERE m.repository_id = r.id
  UNION ALL SELECT t.updated_at FROM tags t WHERE t.repository_id = r.id) AS changes)`;
const lastPullExpression = `(SELECT MAX(pulls.at) FROM (
  SELECT m.last_pulled_at AS at FROM manifests m WHERE m.repository_id = r.id
  UNION ALL SELECT rb.last_pulled_at FROM repository_blobs rb WHERE rb.repository_id = r.id) AS pulls)`;

const sortExpressions: Record<RepositorySortKey, string> = {
  name: 'r.name',
  lastPush: lastPushExpression,
  lastPull: lastPullExpression,
};

interface SummaryRow {
  name: string;
  createdAt: number | string;
  size: number | string;
  tagCount: number | string;
  manifestCount: number | string;
  lastPushAt: number | string | null;
  lastPullAt: number | string | null;
}

interface TagRow {
  name: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  manifestSize: number | string;
  updatedAt: number | string;
  lastPulledAt: number | string | null;
}

/**
 * Repository listings for the admin API: filtering, sorting, paging and per-repository totals, all
 * computed in SQL, so a page of tens of thousands of repositories loads only the rows it returns. The
 * totals are correlated subqueries that use the primary keys and indexes on `repository_id`, so their
 * cost grows with the rows of the repositories a query touches. Sorting by a time computes it for
 * every matching repository.
 */
@Injectable()
export class RepositorySummaryStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /** Counts the matching repositories and returns the summaries of one page of them. */
  async page(
    filter: RepositoryFilter,
    sort: RepositorySort,
    offset: number,
    limit: number,
  ): Promise<CountedPage<RepositorySummary>> {
    return this.db.read(async (manager) => {
      const total = await filtered(manager, filter).getCount();
      const rows = await sorted(withSummaryColumns(filtered(manager, filter)), sort)
        .offset(offset)
        .limit(limit)
        .getRawMany<SummaryRow>();

      return { total, items: rows.map(toSummary) };
    });
  }

  /**
   * Lists the names of every matching repository in sort order, for callers that must filter them
   * further before paging. Only names are loaded and no totals are computed, but the result still
   * grows with the number of matching repositories.
   */
  async names(filter: RepositoryFilter, sort: RepositorySort): Promise<string[]> {
    return this.db.read(async (manager) => {
      const rows = await sorted(filtered(manager, filter).select('r.name', 'name'), sort).getRawMany<{
        name: string;
      }>();

      return rows.map((row) => row.name);
    });
  }

  /** Returns the summaries of the named repositories in the order given; unknown names are skipped. */
  async summaries(names: readonly string[]): Promise<RepositorySummary[]> {
    if (names.length === 0) {
      return [];
    }

    const rows = await this.db.read((manager) =>
      withSummaryColumns(
        manager.createQueryBuilder(RepositoryEntity, 'r').where('r.name IN (:...names)', { names }),
      ).getRawMany<SummaryRow>(),
    );
    const byName = new Map(rows.map((row) => [row.name, toSummary(row)]));

    return names.flatMap((name) => byName.get(name) ?? []);
  }

  /** Counts the repositories under a first path component, such as an upstream prefix. */
  async countInNamespace(namespace: string): Promise<number> {
    return this.db.read((manager) => filtered(manager, { namespaces: [namespace] }).getCount());
  }

  /** Returns one page of a repository's tags in name order; undefined when the repository does not exist. */
  async tags(
    repository: string,
    offset: number,
    limit: number,
  ): Promise<CountedPage<TagSummary> | undefined> {
    return this.db.read(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId === undefined) {
        return undefined;
      }

      const query = manager
        .createQueryBuilder()
        .from('tags', 't')
        .innerJoin('manifests', 'm', 'm.repository_id = t.repository_id AND m.digest = t.manifest_digest')
        .where('t.repository_id = :repositoryId', { repositoryId });
      const total = await query.clone().select('COUNT(*)', 'count').getRawOne<{ count: number | string }>();
      const rows = await query
        .select('t.name', 'name')
        .addSelect('t.manifest_digest', 'digest')
        .addSelect('m.media_type', 'mediaType')
        .addSelect('m.artifact_type', 'artifactType')
        .addSelect('m.size', 'manifestSize')
        .addSelect('t.updated_at', 'updatedAt')
        .addSelect('m.last_pulled_at', 'lastPulledAt')
        .orderBy('t.name', 'ASC')
        .offset(offset)
        .limit(limit)
        .getRawMany<TagRow>();

      return { total: Number(total?.count ?? 0), items: rows.map(toTagSummary) };
    });
  }
}

function filtered(manager: EntityManager, filter: RepositoryFilter): SelectQueryBuilder<RepositoryEntity> {
  const query = manager.createQueryBuilder(RepositoryEntity, 'r');

  if (filter.contains !== undefined && filter.contains !== '') {
    query.andWhere(`r.name LIKE :contains ESCAPE '\\'`, { contains: `%${escapeLike(filter.contains)}%` });
  }

  if (filter.namespaces !== undefined) {
    if (filter.namespaces.length === 0) {
      query.andWhere('1 = 0');
    } else {
      const conditions = filter.namespaces.map((_, index) => `r.name LIKE :namespace${index} ESCAPE '\\'`);

      query.andWhere(`(${conditions.join(' OR ')})`, namespaceParameters('namespace', filter.namespaces));
    }
  }

  filter.excludedNamespaces?.forEach((namespace, index) => {
    query.andWhere(`r.name NOT LIKE :excluded${index} ESCAPE '\\'`, {
      [`excluded${index}`]: `${escapeLike(namespace)}/%`,
    });
  });

  return query;
}

function namespaceParameters(prefix: string, namespaces: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    namespaces.map((namespace, index) => [`${prefix}${index}`, `${escapeLike(namespace)}/%`]),
  );
}

function withSummaryColumns(
  query: SelectQueryBuilder<RepositoryEntity>,
): SelectQueryBuilder<RepositoryEntity> {
  return query
    .select('r.name', 'name')
    .addSelect('r.created_at', 'createdAt')
    .addSelect(sizeExpression, 'size')
    .addSelect(tagCountExpression, 'tagCount')
    .addSelect(manifestCountExpression, 'manifestCount')
    .addSelect(lastPushExpression, 'lastPushAt')
    .addSelect(lastPullExpression, 'lastPullAt');
}

/**
 * Orders by the sort key with repositories that lack the time last in both directions (SQLite and
 * PostgreSQL disagree on where NULL sorts), then by name so that pages never overlap.
 */
function sorted(
  query: SelectQueryBuilder<RepositoryEntity>,
  sort: RepositorySort,
): SelectQueryBuilder<RepositoryEntity> {
  const direction = sort.direction === 'asc' ? 'ASC' : 'DESC';

  if (sort.key === 'name') {
    return query.orderBy('r.name', direction);
  }

  const expression = sortExpressions[sort.key];

  return query
    .orderBy(`CASE WHEN ${expression} IS NULL THEN 1 ELSE 0 END`, 'ASC')
    .addOrderBy(expression, direction)
    .addOrderBy('r.name', 'ASC');
}

/** Escapes LIKE's wildcards and its escape character, so a search for `a_b` matches only `a_b`. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

// PostgreSQL returns bigint columns and aggregates as strings; SQLite returns numbers.
function toSummary(row: SummaryRow): RepositorySummary {
  return {
    name: row.name,
    createdAt: Number(row.createdAt),
    size: Number(row.size),
    tagCount: Number(row.tagCount),
    manifestCount: Number(row.manifestCount),
    lastPushAt: nullableNumber(row.lastPushAt),
    lastPullAt: nullableNumber(row.lastPullAt),
  };
}

function toTagSummary(row: TagRow): TagSummary {
  return {
    name: row.name,
    digest: row.digest,
    mediaType: row.mediaType,
    artifactType: row.artifactType,
    manifestSize: Number(row.manifestSize),
    updatedAt: Number(row.updatedAt),
    lastPulledAt: nullableNumber(row.lastPulledAt),
  };
}
