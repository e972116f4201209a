import 'reflect-metadata';

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { validateConfig } from '../config/config.loader.js';
import { InvalidTokenError, TokenService } from './token-service.js';

describe('TokenService', () => {
  let directory: string;

  const serviceWith = (token: Record<string, unknown>, http: Record<string, unknown> = {}) =>
    new TokenService(
      validateConfig({ http, storage: { rootDirectory: directory }, auth: { token } }, 'test'),
    );

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-token-'));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('creates a P-256 signing key readable by its owner only, and reuses it', async () => {
    const first = serviceWith({});
    const file = join(directory, 'token-signing.pem');
    const mode = (await stat(file)).mode & 0o777;
    const issued = await first.issueAccess({ username: 'alice', groups: [], access: [] });
    const header = JSON.parse(Buffer.from(issued.token.split('.')[0], 'base64url').toString()) as {
      alg: string;
    };

    assert.equal(mode, 0o600);
    assert.equal(header.alg, 'ES256');
    assert.equal((await serviceWith({}).verifyAccess(issued.token)).username, 'alice');
  });

  for (const [type, options, alg] of [
    ['rsa', { modulusLength: 2048 }, 'RS256'],
    ['ed25519', {}, 'EdDSA'],
  ] as const) {
    it(`signs with ${alg} when the configured key is ${type}`, async () => {
      const file = join(directory, `${type}.pem`);
      const { privateKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });

      await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));

      const service = serviceWith({ signingKeyFile: file });
      const issued = await service.issueAccess({ username: 'bob', groups: ['g'], access: [] });
      const header = JSON.parse(Buffer.from(issued.token.split('.')[0], 'base64url').toString()) as {
        alg: string;
      };

      assert.equal(header.alg, alg);
      assert.deepEqual((await service.verifyAccess(issued.token)).groups, ['g']);
    });
  }

  it('rejects a key file that is not a key', async () => {
    const file = join(directory, 'not-a-key.pem');

    await writeFile(file, 'hello');
    assert.throws(() => serviceWith({ signingKeyFile: file }), /not-a-key\.pem is not a PEM private key/);
  });

  it('keeps access and refresh tokens apart', async () => {
    const service = serviceWith({});
    const access = await service.issueAccess({ username: 'alice', groups: [], access: [] });
    const refresh = await service.issueRefresh({ username: 'alice', apiKeyId: 'abc' });

    assert.deepEqual(await service.verifyRefresh(refresh), { username: 'alice', apiKeyId: 'abc' });
    await assert.rejects(service.verifyAccess(refresh), InvalidTokenError);
    await assert.rejects(service.verifyRefresh(access.token), InvalidTokenError);
  });

  it('derives the service name', () => {
    assert.equal(
      serviceWith({}, { externalUrl: 'https://registry.example.com' }).service,
      'registry.example.com',
    );
    assert.equal(
      serviceWith({ service: 'registry' }, { externalUrl: 'https://r.example.com' }).service,
      'registry',
    );
  });

  it('refuses a token from another service', async () => {
    const issued = await serviceWith({ service: 'one' }).issueAccess({
      username: 'a',
      groups: [],
      access: [],
    });

    await assert.rejects(serviceWith({ service: 'two' }).verifyAccess(issued.token), /"aud" claim/);
  });

  it('reports the lifetime of issued tokens', async () => {
    const issued = await serviceWith({ ttl: '90s' }).issueAccess({ username: '', groups: [], access: [] });

    assert.equal(issued.expiresIn, 90);
    assert.ok(!Number.isNaN(Date.parse(issued.issuedAt)));
    assert.equal(
      (await readFile(join(directory, 'token-signing.pem'), 'utf8')).includes('PRIVATE KEY'),
      true,
    );
  });
});
