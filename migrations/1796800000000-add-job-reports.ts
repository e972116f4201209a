import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** Adds `job_reports`: the report of the last scrub and garbage collection, kept across restarts. */
export class AddJobReports1796800000000 implements MigrationInterface {
  name = 'AddJobReports1796800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'job_reports',
        columns: [
          { name: 'job', type: 'varchar', length: '32', isPrimary: true },
          { name: 'report', type: 'text' },
          { name: 'finished_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('job_reports');
  }
}
