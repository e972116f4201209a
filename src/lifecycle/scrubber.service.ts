import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';

import { AuditLog } from '../auth/audit-log.js';
import { ActivityObserver } from '../common/activity-observer.js';
import { Digest } from '../common/digest.js';
import { WharfConfig } from '../config/config.schema.js';
import { parseDuration } from '../config/units.js';
import { BlobRecordStore } from '../metadata/stores/blob-record.store.js';
import { LifecycleStore } from '../metadata/stores/lifecycle.store.js';
import { BlobStorage } from '../storage/blob-storage.service.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';
import { BackgroundJob, type JobReport } from './background-job.js';

/** Blob rows read per query while scrubbing. */
const pageSize = 500;

/** A repository that needs a broken blob, and whether it is local or a pull-through cache. */
export interface ScrubHolder {
  repository: string;
  kind: 'local' | 'cached';
}

/** A blob whose bytes do not match its row. */
export interface ScrubProblem {
  digest: string;
  /** `missing`: no file. `corrupt`: the bytes hash to another digest. `size`: the right bytes, another recorded size. */
  problem: 'missing' | 'corrupt' | 'size';
  recordedSize: number;
  actualSize: number | null;
  actualDigest: string | null;
  holders: ScrubHolder[];
  /** True when the broken file was moved to the quarantine directory and is no longer served. */
  quarantined: boolean;
  /**
   * True when a pull-through repository has the blob, so the next pull through it fetches the bytes
   * from the upstream again. A blob that only local repositories have is lost.
   */
  recoverable: boolean;
}

/** Progress and findings of one scrub. */
export interface ScrubReport extends JobReport {
  /** Blob rows and their recorded bytes when the scrub started, for progress; 0 until counted. */
  totalBlobs: number;
  totalBytes: number;
  checkedBlobs: number;
  checkedBytes: number;
  problems: ScrubProblem[];
}

function newReport(startedBy: string): ScrubReport {
  return {
    state: 'running',
    startedBy,
    startedAt: Date.now(),
    finishedAt: null,
    totalBlobs: 0,
    totalBytes: 0,
    checkedBlobs: 0,
    checkedBytes: 0,
    problems: [],
    error: null,
  };
}

/**
 * Reads every stored blob back and checks that its bytes still hash to its digest and match the
 * recorded size, so that disk faults and files changed or removed by hand are found before a client
 * pulls them. Blobs are read one at a time in digest order, pages of rows at a time, so memory stays
 * flat however large the store is. One scrub runs at a time.
 *
 * A file whose bytes hash to another digest is moved to the quarantine directory. A pull-through
 * repository then finds the bytes missing and fetches them again on the next pull. A local one
 * responds with `BLOB_UNKNOWN` instead of sending bytes that fail the client's digest check. Rows are
 * left as they are, so a lost blob is reported again by every scrub until its image is pushed again.
 */
@Injectable()
export class Scrubber implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Scrubber.name);
  private readonly job: BackgroundJob<ScrubReport>;
  private readonly intervalMs: number;

  constructor(
    @Inject(BlobRecordStore) private readonly blobs: BlobRecordStore,
    @Inject(BlobStorage) private readonly storage: BlobStorage,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(LifecycleStore) private readonly lifecycle: LifecycleStore,
    @Inject(WharfConfig) config: WharfConfig,
  ) {
    this.intervalMs = parseDuration(config.storage.scrub.interval) ?? 0;
    this.job = new BackgroundJob<ScrubReport>({
      name: 'scrub',
      statusRoute: '/api/v1/scrub',
      work: (report, stopping) => this.run(report, stopping),
      ended: (report, stoppedByShutdown) => this.ended(report, stoppedByShutdown),
    });
  }

  /** Reads the report of the last scrub before a restart, and schedules periodic scrubs. */
  async onApplicationBootstrap(): Promise<void> {
    this.job.restore((await this.lifecycle.lastReport('scrub')) as ScrubReport | undefined);
    this.job.schedule(this.intervalMs, () => newReport('schedule'));
  }

  /** Returns the scrub in progress, if any, and the last one that ended. */
  status(): { running: ScrubReport | null; last: ScrubReport | null } {
    return this.job.status();
  }

  /**
   * Starts a scrub in the background and returns its report so far; 409 while one runs. `startedBy`
   * names the user who asked, for the audit records.
   */
  start(startedBy: string): ScrubReport {
    return this.job.start(newReport(startedBy));
  }

  /** Lets a scrub in progress stop at the next blob, so that shutdown does not wait for a full pass. */
  async onModuleDestroy(): Promise<void> {
    await this.job.stop();
  }

  private async run(report: ScrubReport, stopping: () => boolean): Promise<void> {
    this.logger.log('scrub started');

    const totals = await this.blobs.totals();

    report.totalBlobs = totals.blobs;
    report.totalBytes = totals.bytes;

    for (let after = ''; !stopping();) {
      const page = await this.blobs.list(after, pageSize);

      for (const blob of page) {
        if (stopping()) {
          break;
        }

        await this.check(report, blob.digest, blob.size);
      }

      if (page.length < pageSize) {
        break;
      }

      after = page[page.length - 1].digest;
    }
  }

  private async ended(report: ScrubReport, stoppedByShutdown: boolean): Promise<void> {
    if (stoppedByShutdown) {
      this.logger.warn({ checkedBlobs: report.checkedBlobs }, 'scrub stopped by shutdown');
    } else if (report.state === 'failed') {
      this.logger.error({ reason: report.error, checkedBlobs: report.checkedBlobs }, 'scrub failed');
    }

    this.activity.recordScrub({
      result: report.state === 'finished' ? 'finished' : 'failed',
      durationSeconds: ((report.finishedAt ?? Date.now()) - report.startedAt) / 1000,
      blobs: report.checkedBlobs,
      bytes: report.checkedBytes,
      problems: {
        missing: report.problems.filter((problem) => problem.problem === 'missing').length,
        corrupt: report.problems.filter((problem) => problem.problem === 'corrupt').length,
        size: report.problems.filter((problem) => problem.problem === 'size').length,
      },
    });
    this.logger.log(
      {
        state: report.state,
        checkedBlobs: report.checkedBlobs,
        checkedBytes: report.checkedBytes,
        problems: report.problems.length,
        durationMs: (report.finishedAt ?? Date.now()) - report.startedAt,
      },
      'scrub ended',
    );

    await this.lifecycle.saveReport('scrub', report).catch((error: unknown) => {
      this.logger.error({ err: error }, 'failed to save the scrub report');
    });
  }

  private async check(report: ScrubReport, digestText: string, recordedSize: number): Promise<void> {
    const result = await this.storage.verify(Digest.parse(digestText));

    report.checkedBlobs++;

    if (result.state === 'ok' && result.size === recordedSize) {
      report.checkedBytes += result.size;

      return;
    }

    // A blob deleted while the scrub ran has no row left, and its bytes are rightly gone.
    if (result.state === 'missing' && !(await this.blobs.exists(digestText))) {
      return;
    }

    const holders: ScrubHolder[] = (await this.blobs.holders(digestText)).map((repository) => ({
      repository,
      kind: this.routes.match(repository) ? 'cached' : 'local',
    }));
    const problem: ScrubProblem = {
      digest: digestText,
      problem: result.state === 'ok' ? 'size' : result.state,
      recordedSize,
      actualSize: result.state === 'missing' ? null : result.size,
      actualDigest: result.state === 'corrupt' ? result.actualDigest : null,
      holders,
      quarantined: result.state === 'corrupt' && (await this.quarantine(digestText)),
      recoverable: result.state !== 'ok' && holders.some((holder) => holder.kind === 'cached'),
    };

    report.checkedBytes += problem.actualSize ?? 0;
    report.problems.push(problem);

    if (problem.quarantined) {
      this.audit.record('quarantine', {
        startedBy: report.startedBy,
        digest: digestText,
        actualDigest: problem.actualDigest,
        repositories: holders.map((holder) => holder.repository),
      });
    }

    this.logger.warn(
      {
        digest: digestText,
        problem: problem.problem,
        repositories: holders.length,
        quarantined: problem.quarantined,
        recoverable: problem.recoverable,
      },
      'scrub found a broken blob',
    );
  }

  /**
   * Moves a corrupt file out of the store, after hashing it once more: a pull-through fetch may have
   * put the right bytes in place since the first check.
   */
  private async quarantine(digestText: string): Promise<boolean> {
    const digest = Digest.parse(digestText);

    if ((await this.storage.verify(digest)).state !== 'corrupt') {
      return false;
    }

    return this.storage.quarantine(digest);
  }
}
