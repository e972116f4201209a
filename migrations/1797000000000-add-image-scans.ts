import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Adds `image_scans`, the inventory and findings of each scanned image manifest, and
 * `scan_advisories`, which lists the advisory ids and aliases of each image's findings so that the
 * images an advisory affects are found by index.
 */
export class AddImageScans1797000000000 implements MigrationInterface {
  name = 'AddImageScans1797000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'image_scans',
        columns: [
          { name: 'digest', type: 'varchar', length: '150', isPrimary: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'inventory', type: 'text', isNullable: true },
          { name: 'findings', type: 'text' },
          { name: 'summary', type: 'text' },
          { name: 'highest', type: 'varchar', length: '16', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'database_generation', type: 'integer' },
          { name: 'inventoried_at', type: 'bigint', isNullable: true },
          { name: 'scanned_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'scan_advisories',
        columns: [
          { name: 'digest', type: 'varchar', length: '150', isPrimary: true },
          { name: 'advisory', type: 'varchar', length: '200', isPrimary: true },
        ],
        indices: [new TableIndex({ columnNames: ['advisory'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('scan_advisories');
    await queryRunner.dropTable('image_scans');
  }
}
