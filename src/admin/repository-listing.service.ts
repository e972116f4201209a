import { BadRequestException, Inject, Injectable } from '@nestjs/common';

import type { Subject } from '../auth/subject.js';
import { RepositoryNotFoundError } from '../common/domain-errors.js';
import {
  type RepositoryFilter,
  type RepositorySummary,
  RepositorySummaryStore,
  type TagSummary,
} from '../metadata/stores/repository-summary.store.js';
import { ScanResultStore, type ScanSummaryRow } from '../metadata/stores/scan-result.store.js';
import { SignatureVerifier } from '../signing/signature-verifier.service.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';
import type { ListRepositoriesQuery, PageQuery } from './admin-requests.js';
import type { RepositoryListView, RepositoryView, TagListView, TagView } from './admin-responses.js';
import { ImageMeasurer } from './image-measurer.js';
import { RepositoryPermissions } from './repository-permissions.js';
import { summaryView } from './scan-views.js';

/**
 * Lists repositories and tags. Filtering, sorting and paging happen in SQL, except for a caller who
 * may not read everything, because the policy's longest-glob rule does not translate into SQL. For
 * such a caller the names of all matching repositories are loaded in sort order and checked against
 * the policy in memory, and only the requested page is then summarized.
 */
@Injectable()
export class RepositoryListing {
  constructor(
    @Inject(RepositorySummaryStore) private readonly summaries: RepositorySummaryStore,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(RepositoryPermissions) private readonly permissions: RepositoryPermissions,
    @Inject(ImageMeasurer) private readonly measurer: ImageMeasurer,
    @Inject(ScanResultStore) private readonly scans: ScanResultStore,
    @Inject(SignatureVerifier) private readonly signatures: SignatureVerifier,
  ) {}

  async repositories(subject: Subject, query: ListRepositoriesQuery): Promise<RepositoryListView> {
    const filter = this.filterOf(query);
    const sort = {
      key: query.sort,
      direction: query.order ?? (query.sort === 'name' ? 'asc' : 'desc'),
    } as const;
    const offset = (query.page - 1) * query.pageSize;
    let total: number;
    let items: RepositorySummary[];

    if (this.permissions.readsEverything(subject)) {
      ({ total, items } = await this.summaries.page(filter, sort, offset, query.pageSize));
    } else {
      const names = await this.summaries.names(filter, sort);
      const readable = names.filter((name) => this.permissions.mayRead(subject, name));

      total = readable.length;
      items = await this.summaries.summaries(readable.slice(offset, offset + query.pageSize));
    }

    const scans = this.scans.taggedScans(items.map((item) => item.name));

    return {
      total,
      page: query.page,
      pageSize: query.pageSize,
      items: items.map((item) => this.viewOf(item, scans.get(item.name))),
    };
  }

  /** Describes one repository; 404 when it does not exist or the caller may not read it. */
  async repository(subject: Subject, name: string): Promise<RepositoryView> {
    const repository = this.permissions.storedName(name);

    this.permissions.assertReadable(subject, repository);

    const [summary] = await this.summaries.summaries([repository]);

    if (summary === undefined) {
      throw new RepositoryNotFoundError(repository);
    }

    return this.viewOf(summary, this.scans.taggedScans([repository]).get(repository));
  }

  async tags(subject: Subject, name: string, query: PageQuery): Promise<TagListView> {
    const repository = this.permissions.storedName(name);

    this.permissions.assertReadable(subject, repository);

    const page = await this.summaries.tags(repository, (query.page - 1) * query.pageSize, query.pageSize);

    if (page === undefined) {
      throw new RepositoryNotFoundError(repository);
    }

    const items: TagView[] = [];
    const scans = this.scans.scansUnder(
      repository,
      page.items.map((tag) => tag.digest),
    );

    const verdicts = this.signatures.verdicts(
      repository,
      page.items.map((tag) => tag.digest),
    );

    for (const tag of page.items) {
      const verdict = verdicts.get(tag.digest);
      const signer = verdict?.signatures.find((signature) => signature.verified)?.signer;
      const signature = { state: verdict?.state ?? 'unsigned', ...(signer === undefined ? {} : { signer }) };

      items.push({ ...(await this.tagView(repository, tag, scans.get(tag.digest))), signature });
    }

    return {
      repository,
      canDelete: this.permissions.mayDelete(subject, repository),
      total: page.total,
      page: query.page,
      pageSize: query.pageSize,
      items,
    };
  }

  private filterOf(query: ListRepositoriesQuery): RepositoryFilter {
    const prefixes = this.routes.all.map((upstream) => upstream.prefix);

    if (query.upstream !== undefined && !prefixes.includes(query.upstream)) {
      throw new BadRequestException(
        `upstream must be a configured upstream prefix (${prefixes.length > 0 ? prefixes.join(', ') : 'none is configured'})`,
      );
    }

    if (query.upstream !== undefined && query.kind === 'local') {
      throw new BadRequestException(
        'upstream selects cached repositories, so it cannot be combined with kind=local',
      );
    }

    let namespaces: string[] | undefined;

    if (query.upstream !== undefined) {
      namespaces = [query.upstream];
    } else if (query.kind === 'cached') {
      namespaces = prefixes;
    }

    return {
      // Repository names are lower case, so a lower-case search ignores case on every database.
      contains: query.q?.toLowerCase(),
      namespaces,
      excludedNamespaces: query.kind === 'local' ? prefixes : undefined,
    };
  }

  private viewOf(summary: RepositorySummary, scans: ScanSummaryRow[] | undefined): RepositoryView {
    const upstream = this.permissions.upstreamOf(summary.name);

    return {
      name: summary.name,
      kind: upstream === null ? 'local' : 'cached',
      upstream,
      size: summary.size,
      tagCount: summary.tagCount,
      manifestCount: summary.manifestCount,
      createdAt: isoTime(summary.createdAt),
      lastPushAt: summary.lastPushAt === null ? null : isoTime(summary.lastPushAt),
      lastPullAt: summary.lastPullAt === null ? null : isoTime(summary.lastPullAt),
      vulnerabilities: scans === undefined ? null : summaryView(scans),
    };
  }

  private async tagView(
    repository: string,
    tag: TagSummary,
    scans: ScanSummaryRow[] | undefined,
  ): Promise<Omit<TagView, 'signature'>> {
    const measure = await this.measurer.measure(repository, tag.digest, tag.manifestSize);

    return {
      name: tag.name,
      digest: tag.digest,
      mediaType: tag.mediaType,
      artifactType: tag.artifactType,
      size: measure.size,
      sizeComplete: measure.sizeComplete,
      platforms: measure.platforms,
      lastPushAt: isoTime(tag.updatedAt),
      lastPullAt: tag.lastPulledAt === null ? null : isoTime(tag.lastPulledAt),
      vulnerabilities: scans === undefined ? null : summaryView(scans),
    };
  }
}

export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
