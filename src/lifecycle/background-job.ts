import { ConflictException } from '@nestjs/common';

/** The fields every background job reports. Times are epoch milliseconds. */
export interface JobReport {
  state: 'running' | 'finished' | 'failed';
  startedAt: number;
  finishedAt: number | null;
  /** The reason a failed run stopped. */
  error: string | null;
  /** The starter of the run: a user name, `anonymous`, or `schedule`. */
  startedBy: string;
}

/**
 * The work of a job: `work` fills the report and throws to fail. `ended` runs after every run and
 * learns whether shutdown stopped it.
 */
export interface JobDefinition<Report extends JobReport> {
  /** The job's name in messages, such as `scrub`. */
  name: string;
  /** The admin API route that shows the job's progress. */
  statusRoute: string;
  work: (report: Report, stopping: () => boolean) => Promise<void>;
  ended: (report: Report, stoppedByShutdown: boolean) => Promise<void>;
}

/**
 * Runs one kind of long job in the background, one run at a time, optionally on a schedule, and keeps
 * the report of the run in progress and of the last one that ended. At shutdown the run in progress
 * is asked to stop at its next step and is waited for.
 */
export class BackgroundJob<Report extends JobReport> {
  private current: Report | undefined;
  private last: Report | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly definition: JobDefinition<Report>) {}

  /** Starts a run every `intervalMs`; a run still going when the next is due makes that one skip. */
  schedule(intervalMs: number, report: () => Report): void {
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        if (!this.current) {
          this.start(report());
        }
      }, intervalMs);
      this.timer.unref();
    }
  }

  /** Takes the report of a run from before a restart as the last one, unless a run has ended since. */
  restore(report: Report | undefined): void {
    this.last ??= report;
  }

  /** Returns the run in progress, if any, and the last one that ended. */
  status(): { running: Report | null; last: Report | null } {
    return { running: this.current ?? null, last: this.last ?? null };
  }

  /** Starts a run in the background with `report` as its first state; 409 while another runs. */
  start(report: Report): Report {
    if (this.current) {
      throw new ConflictException(
        `a ${this.definition.name} is already running; follow it with GET ${this.definition.statusRoute}`,
      );
    }

    this.current = report;
    this.running = this.run(report).finally(() => {
      this.current = undefined;
      this.last = report;
      this.running = undefined;
    });

    return report;
  }

  /** Stops the schedule and lets the run in progress end at its next step. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    await this.running;
  }

  private async run(report: Report): Promise<void> {
    try {
      await this.definition.work(report, () => this.stopping);
      report.state = this.stopping ? 'failed' : 'finished';
      report.error = this.stopping ? 'stopped because Wharf is shutting down' : null;
    } catch (error) {
      report.state = 'failed';
      report.error = error instanceof Error ? error.message : String(error);
    }

    report.finishedAt = Date.now();
    await this.definition.ended(report, this.stopping);
  }
}
