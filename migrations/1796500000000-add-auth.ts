import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Adds what authentication keeps: users seen at sign-in, API keys, browser sessions and OIDC sign-ins. */
export class AddAuth1796500000000 implements MigrationInterface {
  name = 'AddAuth1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          { name: 'username', type: 'varchar', length: '255', isPrimary: true },
          { name: 'source', type: 'varchar', length: '16' },
          { name: 'groups', type: 'text' },
          { name: 'last_login_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'username', type: 'varchar', length: '255' },
          { name: 'label', type: 'varchar', length: '100' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint', isNullable: true },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
          { name: 'last_used_at', type: 'bigint', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'idx_api_keys_username', columnNames: ['username'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'username', type: 'varchar', length: '255' },
          { name: 'groups', type: 'text' },
          { name: 'method', type: 'varchar', length: '16' },
          { name: 'csrf_token', type: 'varchar', length: '64' },
          { name: 'id_token', type: 'text', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oidc_logins',
        columns: [
          { name: 'state_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'nonce', type: 'varchar', length: '128' },
          { name: 'code_verifier', type: 'varchar', length: '128' },
          { name: 'return_to', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['oidc_logins', 'sessions', 'api_keys', 'users']) {
      await queryRunner.dropTable(table);
    }
  }
}
