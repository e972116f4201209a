import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import bcrypt from 'bcryptjs';
import pino from 'pino';

import { ActivityObserver } from '../common/activity-observer.js';
import { validateConfig } from '../config/config.loader.js';
import type { ApiKeyStore } from '../metadata/stores/api-key.store.js';
import type { UserStore } from '../metadata/stores/user.store.js';
import type { AuditLog } from './audit-log.js';
import { Credentials } from './credentials.js';

/** An ActivityObserver that ignores everything, for tests that do not read metrics. */
class IgnoredActivity extends ActivityObserver {
  recordUpload(): void {}
  recordUpstreamRequest(): void {}
  recordUpstreamError(): void {}
  recordCacheHit(): void {}
  recordCacheMiss(): void {}
  recordAuthAttempt(): void {}
  recordScrub(): void {}
  recordGc(): void {}
  recordEviction(): void {}
  recordSignatureCheck(): void {}
  recordScan(): void {}
}

describe('Credentials cache', () => {
  let directory: string;
  let logins: string[];
  let credentials: Credentials;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-credentials-'));

    const htpasswd = join(directory, 'htpasswd');

    await writeFile(htpasswd, `grace:${bcrypt.hashSync('grace-password', 4)}\n`);
    logins = [];

    const config = validateConfig({ auth: { htpasswd: { path: htpasswd } } }, 'test');
    const audit = { record: (_event: string, fields: { user: string }) => logins.push(fields.user) };

    credentials = new Credentials(
      config,
      {} as ApiKeyStore,
      {} as UserStore,
      audit as unknown as AuditLog,
      pino({ level: 'silent' }),
      new IgnoredActivity(),
    );
  });

  afterEach(async () => {
    credentials.onModuleDestroy();
    await rm(directory, { recursive: true, force: true });
  });

  it('a repeated verification comes from the cache', async () => {
    await credentials.verify('grace', 'grace-password', '127.0.0.1');
    await credentials.verify('grace', 'grace-password', '127.0.0.1');

    assert.deepEqual(logins, ['grace']);
  });

  it('a check that ran across a reload is not cached', async () => {
    const first = credentials.verify('grace', 'grace-password', '127.0.0.1');

    credentials.forgetVerified();
    await first;
    await credentials.verify('grace', 'grace-password', '127.0.0.1');

    assert.deepEqual(logins, ['grace', 'grace']);
  });
});
