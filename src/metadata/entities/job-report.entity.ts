import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** The report of the last run of a background job, such as a scrub, kept across restarts. */
@Entity('job_reports')
export class JobReportEntity {
  /** The job: `scrub` or `gc`. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  job: string;

  /** The report as JSON. */
  @Column({ type: 'text' })
  report: string;

  @Column({ type: 'bigint', name: 'finished_at', transformer: epochMs })
  finishedAt: number;
}
