import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';

/** Adds pull-through cache state: tag revalidation times, statistics and last-pulled times. */
export class AddUpstreamCache1796422792818 implements MigrationInterface {
  name = 'AddUpstreamCache1796422792818';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'upstream_tag_checks',
        columns: [
          { name: 'repository_id', type: 'integer', isPrimary: true },
          { name: 'tag', type: 'varchar', length: '128', isPrimary: true },
          { name: 'checked_at', type: 'bigint' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['repository_id'],
            referencedTableName: 'repositories',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'upstream_statistics',
        columns: [
          { name: 'upstream', type: 'varchar', length: '64', isPrimary: true },
          { name: 'repository', type: 'varchar', length: '255', isPrimary: true },
          { name: 'hits', type: 'bigint', default: 0 },
          { name: 'misses', type: 'bigint', default: 0 },
          { name: 'bytes_fetched', type: 'bigint', default: 0 },
          { name: 'bytes_served', type: 'bigint', default: 0 },
          { name: 'not_found', type: 'bigint', default: 0 },
          { name: 'errors', type: 'bigint', default: 0 },
          { name: 'last_error_kind', type: 'varchar', length: '32', isNullable: true },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'upstream_errors',
        columns: [
          { name: 'upstream', type: 'varchar', length: '64', isPrimary: true },
          { name: 'repository', type: 'varchar', length: '255', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '32', isPrimary: true },
          { name: 'count', type: 'bigint', default: 0 },
        ],
      }),
    );

    for (const table of ['manifests', 'repository_blobs']) {
      await queryRunner.addColumn(
        table,
        new TableColumn({ name: 'last_pulled_at', type: 'bigint', isNullable: true }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['manifests', 'repository_blobs']) {
      await queryRunner.dropColumn(table, 'last_pulled_at');
    }

    for (const table of ['upstream_errors', 'upstream_statistics', 'upstream_tag_checks']) {
      await queryRunner.dropTable(table);
    }
  }
}
