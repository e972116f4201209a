import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Adds the indexes garbage collection looks blobs up by: manifests by digest alone, because a blob is
 * held while any repository stores it as a manifest, and blobs by creation time for the grace period.
 */
export class AddLifecycleIndexes1796700000000 implements MigrationInterface {
  name = 'AddLifecycleIndexes1796700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'manifests',
      new TableIndex({ name: 'idx_manifests_digest', columnNames: ['digest'] }),
    );
    await queryRunner.createIndex(
      'blobs',
      new TableIndex({ name: 'idx_blobs_created_at', columnNames: ['created_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('blobs', 'idx_blobs_created_at');
    await queryRunner.dropIndex('manifests', 'idx_manifests_digest');
  }
}
