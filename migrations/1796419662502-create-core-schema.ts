import { type MigrationInterface, type QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/** Creates the core registry tables: repositories, blobs and links, manifests, references, tags, uploads. */
export class CreateCoreSchema1796419662502 implements MigrationInterface {
  name = 'CreateCoreSchema1796419662502';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'repositories',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'name', type: 'varchar', length: '255', isUnique: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'blobs',
        columns: [
          { name: 'digest', type: 'varchar', length: '150', isPrimary: true },
          { name: 'size', type: 'bigint' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'repository_blobs',
        columns: [
          { name: 'repository_id', type: 'integer', isPrimary: true },
          { name: 'digest', type: 'varchar', length: '150', isPrimary: true },
          { name: 'created_at', type: 'bigint' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['repository_id'],
            referencedTableName: 'repositories',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            columnNames: ['digest'],
            referencedTableName: 'blobs',
            referencedColumnNames: ['digest'],
          }),
        ],
        indices: [new TableIndex({ columnNames: ['digest'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'manifests',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'repository_id', type: 'integer' },
          { name: 'digest', type: 'varchar', length: '150' },
          { name: 'media_type', type: 'varchar', length: '255' },
          { name: 'size', type: 'bigint' },
          { name: 'artifact_type', type: 'varchar', length: '255', isNullable: true },
          { name: 'subject_digest', type: 'varchar', length: '150', isNullable: true },
          { name: 'annotations', type: 'text', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['repository_id'],
            referencedTableName: 'repositories',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            columnNames: ['digest'],
            referencedTableName: 'blobs',
            referencedColumnNames: ['digest'],
          }),
        ],
        indices: [
          new TableIndex({ columnNames: ['repository_id', 'digest'], isUnique: true }),
          new TableIndex({ columnNames: ['repository_id', 'subject_digest'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'manifest_references',
        columns: [
          { name: 'manifest_id', type: 'integer', isPrimary: true },
          { name: 'position', type: 'integer', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'digest', type: 'varchar', length: '150' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['manifest_id'],
            referencedTableName: 'manifests',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [new TableIndex({ columnNames: ['digest'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'tags',
        columns: [
          { name: 'repository_id', type: 'integer', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'manifest_digest', type: 'varchar', length: '150' },
          { name: 'updated_at', type: 'bigint' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['repository_id', 'manifest_digest'],
            referencedTableName: 'manifests',
            referencedColumnNames: ['repository_id', 'digest'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'upload_sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'repository_name', type: 'varchar', length: '255' },
          { name: 'started_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'upload_sessions',
      'tags',
      'manifest_references',
      'manifests',
      'repository_blobs',
      'blobs',
      'repositories',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
