import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';

import { AuditLog } from '../auth/audit-log.js';
import { ActivityObserver, type GcRemovals } from '../common/activity-observer.js';
import { Digest } from '../common/digest.js';
import { globToPattern } from '../common/glob.js';
import { ManifestHooks } from '../common/manifest-hooks.js';
import { type RetentionRule, WharfConfig } from '../config/config.schema.js';
import { durationMs, parseSize } from '../config/units.js';
import {
  type LifecycleLink,
  type LifecycleManifest,
  LifecycleStore,
  type RepositoryContents,
} from '../metadata/stores/lifecycle.store.js';
import { BlobStorage } from '../storage/blob-storage.service.js';
import { BackgroundJob, type JobReport } from './background-job.js';
import {
  applyPlan,
  type DeletionReason,
  imagesOf,
  planEviction,
  planRepository,
  type PlanTimes,
  type RepositoryPlan,
  type RetentionPolicy,
} from './retention.js';

/** Rows read per query while walking repositories and blobs. */
const pageSize = 500;

/**
 * Maximum time of collection work between two returns to the event loop. Deletions are synchronous
 * SQLite calls whose promises resolve at once, so without these pauses a run would starve requests.
 */
const sliceMs = 2;

/** The `job_reports` rows of the last real run and the last dry run. */
const savedReportKeys = { real: 'gc', dryRun: 'gc-dry-run' };

/** Deletions a report lists one by one; the counts cover the rest. */
const listedDeletionLimit = 1000;

/** One thing garbage collection deleted, or would delete in a dry run. */
export interface GcDeletion {
  kind: 'tag' | 'manifest' | 'blob' | 'file';
  repository: string | null;
  tag: string | null;
  digest: string;
  /** Bytes, for manifests, blobs and files. */
  size: number | null;
  reason: DeletionReason | 'orphaned-file';
}

/** A cache with a quota, and what eviction did to it. */
export interface GcQuota {
  upstream: string;
  maxSize: number;
  /** Bytes the cache stored when the run read it, and after evicting. */
  sizeBefore: number;
  sizeAfter: number;
  evictedImages: number;
}

/** A step of a collection: retention rules, cache quotas, unreferenced blobs, then files without rows. */
export type GcPhase = 'retention' | 'quotas' | 'blobs' | 'files';

/** Progress and outcome of one garbage collection. */
export interface GcReport extends JobReport {
  /** A dry run deletes nothing and reports what a real run would have deleted. */
  dryRun: boolean;
  /** The step running now. */
  phase: GcPhase | null;
  /** When the phase started, for its rate; epoch milliseconds. */
  phaseStartedAt: number | null;
  /** Progress within the phase, in repositories or blobs; `phaseTotal` is 0 when unknown. */
  phaseDone: number;
  phaseTotal: number;
  removed: GcRemovals;
  quotas: GcQuota[];
  /** The first `listedDeletionLimit` deletions; `unlistedDeletions` counts the rest. */
  deletions: GcDeletion[];
  unlistedDeletions: number;
}

/** Deletions made so far in a run, for a dry run to plan later phases on: ids and `repository|digest` keys. */
interface Overlay {
  tags: Set<string>;
  manifests: Set<number>;
  links: Set<string>;
  /** Digests that lost a holder, which may have no holder left. */
  candidates: Set<string>;
  /** Blob rows the run deleted, whose files go with them. */
  blobs: Set<string>;
}

/**
 * Online garbage collection. A run applies the retention rules repository by repository, evicts the
 * least recently pulled images of caches over their quota, deletes blobs nothing references any more, and
 * finally files left without a row by a crash. Every deletion is a small transaction that checks its
 * condition again, and blob bytes are deleted under the digest's exclusive section, so pushes and
 * pulls go on while it runs. Nothing newer than `storage.gc.delay` is deleted.
 */
@Injectable()
export class GarbageCollector implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(GarbageCollector.name);
  private readonly job: BackgroundJob<GcReport>;
  private readonly intervalMs: number;
  private readonly delayMs: number;
  private readonly rules: { pattern: RegExp; policy: RetentionPolicy }[];
  private readonly quotas: { prefix: string; maxSize: number }[];
  private sliceStartedAt = 0;
  private lastRealRun: GcReport | undefined;

  constructor(
    @Inject(LifecycleStore) private readonly store: LifecycleStore,
    @Inject(BlobStorage) private readonly storage: BlobStorage,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(WharfConfig) config: WharfConfig,
    @Optional() @Inject(ManifestHooks) private readonly hooks?: ManifestHooks,
  ) {
    this.intervalMs = durationMs(config.storage.gc.interval);
    this.delayMs = durationMs(config.storage.gc.delay);
    this.rules = config.storage.retention.map((rule) => ({
      pattern: globToPattern(rule.repositories),
      policy: compileRule(rule),
    }));
    // A maxSize of 0, like an unset one, means no limit.
    this.quotas = config.upstreams.flatMap((upstream) => {
      const maxSize = parseSize(upstream.maxSize ?? '0') ?? 0;

      return maxSize > 0 ? [{ prefix: upstream.prefix, maxSize }] : [];
    });
    this.job = new BackgroundJob<GcReport>({
      name: 'garbage collection',
      statusRoute: '/api/v1/gc',
      work: (report, stopping) => this.run(report, stopping),
      ended: (report, stoppedByShutdown) => this.ended(report, stoppedByShutdown),
    });
  }

  /**
   * Reads the reports of the last real run and the last dry run before a restart, and schedules
   * periodic runs.
   */
  async onApplicationBootstrap(): Promise<void> {
    const real = (await this.store.lastReport(savedReportKeys.real)) as GcReport | undefined;
    const dryRun = (await this.store.lastReport(savedReportKeys.dryRun)) as GcReport | undefined;

    this.lastRealRun ??= real;
    this.job.restore(
      real === undefined || (dryRun?.finishedAt ?? 0) > (real.finishedAt ?? 0) ? dryRun : real,
    );
    this.job.schedule(this.intervalMs, () => newReport(false, 'schedule'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.job.stop();
  }

  /**
   * Returns the run in progress, if any, the last one that ended, and the last real run, which a dry
   * run since does not hide.
   */
  status(): { running: GcReport | null; last: GcReport | null; lastRealRun: GcReport | null } {
    return { ...this.job.status(), lastRealRun: this.lastRealRun ?? null };
  }

  /**
   * Starts a run in the background and returns its report so far; 409 while one runs. `startedBy`
   * names the user who asked, for the audit records.
   */
  start(options: { dryRun: boolean; startedBy: string }): GcReport {
    return this.job.start(newReport(options.dryRun, options.startedBy));
  }

  private async run(report: GcReport, stopping: () => boolean): Promise<void> {
    const now = Date.now();
    const times: PlanTimes = { now, graceBefore: now - this.delayMs };
    const overlay: Overlay = {
      tags: new Set(),
      manifests: new Set(),
      links: new Set(),
      candidates: new Set(),
      blobs: new Set(),
    };

    this.logger.log({ dryRun: report.dryRun }, 'garbage collection started');
    await this.applyRetention(report, times, overlay, stopping);

    for (const quota of this.quotas) {
      if (!stopping()) {
        await this.enforceQuota(report, quota, times, overlay);
      }
    }

    if (!stopping()) {
      await this.sweepBlobs(report, times, overlay, stopping);
    }

    if (!stopping()) {
      await this.sweepFiles(report, times, overlay, stopping);
    }

    // A run stopped by shutdown keeps its phase and progress, so the report shows where it stopped.
    if (!stopping()) {
      report.phase = null;
      report.phaseStartedAt = null;
      report.phaseDone = 0;
      report.phaseTotal = 0;
    }
  }

  private async applyRetention(
    report: GcReport,
    times: PlanTimes,
    overlay: Overlay,
    stopping: () => boolean,
  ): Promise<void> {
    startPhase(report, 'retention', this.store.totals().repositories);

    for (let after = ''; !stopping();) {
      const page = this.store.repositories(after, pageSize);

      for (const repository of page) {
        if (stopping()) {
          return;
        }

        const contents = this.store.contents(repository);
        const policy = this.rules.find((rule) => rule.pattern.test(repository.name))?.policy;

        await this.carryOut(report, contents, planRepository(contents, policy, times), overlay);
        report.phaseDone++;
        await this.pauseIfBusy();
      }

      if (page.length < pageSize) {
        return;
      }

      after = page[page.length - 1].name;
    }
  }

  /**
   * Evicts the least recently pulled images of one cache until it stores less than its quota. A cache's
   * size counts each digest its repositories reference once, as the cache dashboard does.
   */
  private async enforceQuota(
    report: GcReport,
    quota: { prefix: string; maxSize: number },
    times: PlanTimes,
    overlay: Overlay,
  ): Promise<void> {
    const repositories = new Map<number, RepositoryContents>();
    const referenceCounts = new Map<string, { size: number; references: number }>();
    let size = 0;

    // Counts the references to each digest, and the cache's size as digests gain their first one or
    // lose their last.
    const countReference = (digest: string, bytes: number, change: 1 | -1): void => {
      const entry = referenceCounts.get(digest) ?? { size: bytes, references: 0 };

      entry.references += change;
      referenceCounts.set(digest, entry);

      if (change === 1 && entry.references === 1) {
        size += entry.size;
      } else if (change === -1 && entry.references === 0) {
        size -= entry.size;
      }
    };

    startPhase(report, 'quotas', 0);

    for (const repository of this.repositoriesUnder(quota.prefix)) {
      const contents = withoutOverlay(this.store.contents(repository), overlay);

      repositories.set(repository.id, contents);
      contents.manifests.forEach((manifest) => countReference(manifest.digest, manifest.size, 1));
      contents.links.forEach((link) => countReference(link.digest, link.size, 1));
    }

    const sizeBefore = size;
    let evictedImages = 0;
    const images = [...repositories.values()]
      .flatMap((contents) => imagesOf(contents).map((image) => ({ ...image, repositoryId: contents.id })))
      .sort((a, b) => a.activeAt - b.activeAt || a.manifest.id - b.manifest.id);

    report.phaseTotal = images.length;

    for (const image of images) {
      if (size <= quota.maxSize) {
        break;
      }

      // Images pushed or pulled within the grace period stay, like everything else; the sort puts
      // them last, so none after this one may go either.
      if (image.activeAt >= times.graceBefore) {
        break;
      }

      const contents = repositories.get(image.repositoryId);

      report.phaseDone++;

      if (
        contents === undefined ||
        !contents.manifests.some((manifest) => manifest.id === image.manifest.id)
      ) {
        continue;
      }

      const done = await this.carryOut(report, contents, planEviction(contents, image.manifest), overlay);
      const sizeBeforeEviction = size;

      done.manifests.forEach(({ manifest }) => countReference(manifest.digest, manifest.size, -1));
      done.links.forEach(({ link }) => countReference(link.digest, link.size, -1));
      repositories.set(contents.id, applyPlan(contents, done));

      const freed = sizeBeforeEviction - size;

      evictedImages++;

      if (!report.dryRun) {
        this.activity.recordEviction(quota.prefix, freed);
      }

      this.logger.log(
        {
          upstream: quota.prefix,
          repository: contents.name,
          digest: image.manifest.digest,
          bytes: freed,
          dryRun: report.dryRun,
        },
        report.dryRun ? 'cache image would be evicted' : 'cache image evicted',
      );
    }

    report.quotas.push({
      upstream: quota.prefix,
      maxSize: quota.maxSize,
      sizeBefore,
      sizeAfter: size,
      evictedImages,
    });
  }

  /** Deletes blob rows and bytes that nothing references, stored before the grace period. */
  private async sweepBlobs(
    report: GcReport,
    times: PlanTimes,
    overlay: Overlay,
    stopping: () => boolean,
  ): Promise<void> {
    startPhase(report, 'blobs', this.store.totals().blobs);

    for (let after = ''; !stopping();) {
      const page = this.store.unheldBlobs(after, pageSize, times.graceBefore);

      for (const blob of page) {
        await this.deleteBlob(report, blob.digest, blob.size, times, overlay);
        report.phaseDone++;
        await this.pauseIfBusy();
      }

      if (page.length < pageSize) {
        break;
      }

      after = page[page.length - 1].digest;
    }

    // A dry run deleted no holder, so the blobs it would have freed are found through the overlay.
    if (report.dryRun) {
      for (const digest of overlay.candidates) {
        const holders = this.store.holders(digest);

        if (
          holders !== undefined &&
          holders.createdAt < times.graceBefore &&
          !overlay.blobs.has(digest) &&
          holders.linkedBy.every((link) => overlay.links.has(`${link.repositoryId}|${digest}`)) &&
          holders.manifests.every((manifest) => overlay.manifests.has(manifest.manifestId)) &&
          holders.referencedBy.every((manifest) => overlay.manifests.has(manifest.manifestId))
        ) {
          await this.deleteBlob(report, digest, holders.size, times, overlay);
        }
      }
    }
  }

  private async deleteBlob(
    report: GcReport,
    digestText: string,
    size: number,
    times: PlanTimes,
    overlay: Overlay,
  ): Promise<void> {
    const digest = Digest.parse(digestText);
    const deleted =
      report.dryRun ||
      (await this.storage.exclusive(digest, async () => {
        if (!(await this.store.deleteBlob(digestText, times.graceBefore))) {
          return false;
        }

        await this.storage.remove(digest);

        return true;
      }));

    if (deleted) {
      overlay.blobs.add(digestText);
      report.removed.blobs++;
      report.removed.bytes += size;
      this.note(report, {
        kind: 'blob',
        repository: null,
        tag: null,
        digest: digestText,
        size,
        reason: 'unreferenced',
      });
    }
  }

  /** Deletes blob files without a row, such as those a crash left between the move and the row. */
  private async sweepFiles(
    report: GcReport,
    times: PlanTimes,
    overlay: Overlay,
    stopping: () => boolean,
  ): Promise<void> {
    startPhase(report, 'files', 0);

    for await (const file of this.storage.files()) {
      if (stopping()) {
        return;
      }

      report.phaseDone++;
      await this.pauseIfBusy();

      const digestText = file.digest.toString();

      if (file.changedAt >= times.graceBefore || overlay.blobs.has(digestText)) {
        continue;
      }

      // The row is read again under the exclusive section, which a writer keeps from the move to the row.
      const deleted =
        !this.store.hasBlob(digestText) &&
        (report.dryRun ||
          (await this.storage.exclusive(file.digest, async () => {
            if (this.store.hasBlob(digestText)) {
              return false;
            }

            await this.storage.remove(file.digest);

            return true;
          })));

      if (deleted) {
        report.removed.files++;
        report.removed.bytes += file.size;
        this.note(report, {
          kind: 'file',
          repository: null,
          tag: null,
          digest: digestText,
          size: file.size,
          reason: 'orphaned-file',
        });
      }
    }
  }

  /**
   * Carries out one repository's plan, or in a dry run only records it. Returns what was deleted: a
   * deletion whose condition no longer holds, because of a push or pull meanwhile, is skipped.
   */
  private async carryOut(
    report: GcReport,
    contents: RepositoryContents,
    plan: RepositoryPlan,
    overlay: Overlay,
  ): Promise<RepositoryPlan> {
    const done: RepositoryPlan = { tags: [], manifests: [], links: [] };
    const repository = contents.name;

    for (const entry of plan.tags) {
      await this.pauseIfBusy();

      if (report.dryRun || (await this.store.deleteTag(contents.id, entry.tag))) {
        done.tags.push(entry);
        overlay.tags.add(`${contents.id}|${entry.tag.name}`);
        report.removed.tags++;
        this.note(report, {
          kind: 'tag',
          repository,
          tag: entry.tag.name,
          digest: entry.tag.digest,
          size: null,
          reason: entry.reason,
        });
      }
    }

    for (const entry of plan.manifests) {
      await this.pauseIfBusy();

      const result = report.dryRun
        ? { deleted: true, tags: [] }
        : await this.store.deleteManifest(
            contents.id,
            entry.manifest,
            entry.reason === 'quota' ? { kind: 'evict' } : { kind: 'unreferenced', before: entry.before },
          );

      if (result.deleted) {
        done.manifests.push(entry);
        overlay.manifests.add(entry.manifest.id);
        this.addCandidates(overlay, contents, entry.manifest);
        report.removed.manifests++;
        this.note(report, {
          kind: 'manifest',
          repository,
          tag: result.tags.length > 0 ? result.tags.join(',') : null,
          digest: entry.manifest.digest,
          size: entry.manifest.size,
          reason: entry.reason,
        });
      }
    }

    for (const entry of plan.links) {
      await this.pauseIfBusy();

      if (
        report.dryRun ||
        (await this.store.deleteLink(contents.id, entry.link.digest, {
          createdAtMost: entry.createdAtMost,
          pulledBefore: entry.pulledBefore,
        }))
      ) {
        done.links.push(entry);
        overlay.links.add(`${contents.id}|${entry.link.digest}`);
        overlay.candidates.add(entry.link.digest);
        report.removed.links++;
      }
    }

    if (done.tags.length > 0 || done.manifests.length > 0) {
      this.hooks?.removed(repository);
    }

    return done;
  }

  /** Returns to the event loop once the current slice of work has run for `sliceMs`. */
  private async pauseIfBusy(): Promise<void> {
    if (performance.now() - this.sliceStartedAt >= sliceMs) {
      await setImmediate();
      this.sliceStartedAt = performance.now();
    }
  }

  private addCandidates(overlay: Overlay, contents: RepositoryContents, manifest: LifecycleManifest): void {
    overlay.candidates.add(manifest.digest);

    for (const reference of contents.references) {
      if (reference.manifestId === manifest.id) {
        overlay.candidates.add(reference.digest);
      }
    }
  }

  /** Lists a deletion in the report and, unless nothing is deleted, writes its audit record. */
  private note(report: GcReport, deletion: GcDeletion): void {
    if (report.deletions.length < listedDeletionLimit) {
      report.deletions.push(deletion);
    } else {
      report.unlistedDeletions++;
    }

    if (!report.dryRun) {
      this.audit.record('gc-delete', { startedBy: report.startedBy, ...deletion });
    }
  }

  /** Yields the repositories whose names start with `prefix/`, in name order. */
  private *repositoriesUnder(prefix: string): Generator<{ id: number; name: string }> {
    const start = `${prefix}/`;

    for (let after = start; ;) {
      const page = this.store.repositories(after, pageSize);

      for (const repository of page) {
        if (!repository.name.startsWith(start)) {
          return;
        }

        yield repository;
      }

      if (page.length < pageSize) {
        return;
      }

      after = page[page.length - 1].name;
    }
  }

  private async ended(report: GcReport, stoppedByShutdown: boolean): Promise<void> {
    const durationMs = (report.finishedAt ?? Date.now()) - report.startedAt;

    if (stoppedByShutdown) {
      this.logger.warn(
        { phase: report.phase, phaseDone: report.phaseDone },
        'garbage collection stopped by shutdown',
      );
    } else if (report.state === 'failed') {
      this.logger.error({ reason: report.error, phase: report.phase }, 'garbage collection failed');
    }

    if (!report.dryRun) {
      this.activity.recordGc({
        result: report.state === 'finished' ? 'finished' : 'failed',
        durationSeconds: durationMs / 1000,
        removed: report.removed,
      });
    }

    this.logger.log(
      { state: report.state, dryRun: report.dryRun, ...report.removed, durationMs },
      'garbage collection ended',
    );

    if (!report.dryRun) {
      this.lastRealRun = report;
    }

    await this.store
      .saveReport(report.dryRun ? savedReportKeys.dryRun : savedReportKeys.real, report)
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'failed to save the garbage collection report');
      });
  }
}

function newReport(dryRun: boolean, startedBy: string): GcReport {
  return {
    state: 'running',
    startedBy,
    startedAt: Date.now(),
    finishedAt: null,
    error: null,
    dryRun,
    phase: null,
    phaseStartedAt: null,
    phaseDone: 0,
    phaseTotal: 0,
    removed: { tags: 0, manifests: 0, links: 0, blobs: 0, files: 0, bytes: 0 },
    quotas: [],
    deletions: [],
    unlistedDeletions: 0,
  };
}

/** Moves a report to the start of `phase`, which has `total` steps, or 0 when unknown. */
function startPhase(report: GcReport, phase: GcPhase, total: number): void {
  report.phase = phase;
  report.phaseStartedAt = Date.now();
  report.phaseDone = 0;
  report.phaseTotal = total;
}

function compileRule(rule: RetentionRule): RetentionPolicy {
  return {
    repositories: rule.repositories,
    keepLast: rule.keepLast,
    keepTags: (rule.keepTags ?? []).map(globToPattern),
    keepWithinMs: rule.keepWithin === undefined ? undefined : durationMs(rule.keepWithin),
    deleteUntaggedAfterMs:
      rule.deleteUntaggedAfter === undefined ? undefined : durationMs(rule.deleteUntaggedAfter),
  };
}

/** Returns a repository's contents without what this run already deleted, as a dry run must see it. */
function withoutOverlay(contents: RepositoryContents, overlay: Overlay): RepositoryContents {
  return {
    ...contents,
    manifests: contents.manifests.filter((manifest) => !overlay.manifests.has(manifest.id)),
    references: contents.references.filter((reference) => !overlay.manifests.has(reference.manifestId)),
    links: contents.links.filter(
      (link: LifecycleLink) => !overlay.links.has(`${contents.id}|${link.digest}`),
    ),
    tags: contents.tags.filter((tag) => !overlay.tags.has(`${contents.id}|${tag.name}`)),
  };
}
