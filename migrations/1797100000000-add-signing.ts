import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Adds `signing_trust`, the public keys, certificates and trust policy admins upload through the admin
 * API, and `signature_verdicts`, the result of checking each signed image's signatures in its repository.
 */
export class AddSigning1797100000000 implements MigrationInterface {
  name = 'AddSigning1797100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'signing_trust',
        columns: [
          { name: 'kind', type: 'varchar', length: '32', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200', isPrimary: true },
          { name: 'content', type: 'text' },
          { name: 'created_by', type: 'varchar', length: '200', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'signature_verdicts',
        columns: [
          { name: 'repository', type: 'varchar', length: '255', isPrimary: true },
          { name: 'digest', type: 'varchar', length: '150', isPrimary: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'signatures', type: 'text' },
          { name: 'trust_generation', type: 'varchar', length: '64' },
          { name: 'evaluated_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ columnNames: ['digest'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('signature_verdicts');
    await queryRunner.dropTable('signing_trust');
  }
}
