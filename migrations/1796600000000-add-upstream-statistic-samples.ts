import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Adds `upstream_statistic_samples`: each upstream's cumulative cache counters and storage over time.
 * The index on `sampled_at` serves the retention delete, which covers every upstream at once.
 */
export class AddUpstreamStatisticSamples1796600000000 implements MigrationInterface {
  name = 'AddUpstreamStatisticSamples1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'upstream_statistic_samples',
        columns: [
          { name: 'upstream', type: 'varchar', length: '64', isPrimary: true },
          { name: 'sampled_at', type: 'bigint', isPrimary: true },
          { name: 'hits', type: 'bigint' },
          { name: 'misses', type: 'bigint' },
          { name: 'bytes_fetched', type: 'bigint' },
          { name: 'bytes_served', type: 'bigint' },
          { name: 'not_found', type: 'bigint' },
          { name: 'errors', type: 'bigint' },
          { name: 'storage_bytes', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'idx_upstream_statistic_samples_sampled_at', columnNames: ['sampled_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('upstream_statistic_samples');
  }
}
