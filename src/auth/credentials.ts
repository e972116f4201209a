import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';

import { AuthenticationRequiredError, TooManyLoginFailuresError } from '../common/domain-errors.js';
import { RootLogger } from '../common/root-logger.js';
import { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import { ApiKeyStore } from '../metadata/stores/api-key.store.js';
import { UserStore } from '../metadata/stores/user.store.js';
import { ActivityObserver } from '../common/activity-observer.js';
import { apiKeyState, hashesEqual, parseApiKey, sha256Hex } from './api-key-format.js';
import { AuditLog } from './audit-log.js';
import { FailedLogins } from './failed-logins.js';
import { HtpasswdFile, maxPasswordBytes } from './htpasswd.js';

/** A user whose password or API key checked out. */
export interface VerifiedUser {
  username: string;
  groups: string[];
  method: 'htpasswd' | 'api-key';
  /** Set when the password was an API key, so refresh tokens stop working once it is revoked. */
  apiKeyId?: string;
  /** When the API key expires, if it does; a cached verification never outlives it. */
  expiresAt?: number;
}

export interface VerifyOptions {
  /** The `WWW-Authenticate` value sent with a 401, for registry clients. */
  challenge?: string;
  /** True for explicit sign-ins, which are audited every time. */
  login?: boolean;
}

/** A verified password is trusted again for this long, so Basic on every request costs one bcrypt. */
const verifiedCacheMs = 60_000;
const maxCachedCredentials = 1000;
/** Last use of an API key is written at most this often. */
const lastUseResolutionMs = 60_000;

/**
 * Checks usernames with passwords or API keys, for Basic requests, token requests and the sign-in form.
 * Failures are delayed and limited per client address.
 */
@Injectable()
export class Credentials implements OnModuleDestroy {
  readonly htpasswd: HtpasswdFile | undefined;
  private readonly failedLogins: FailedLogins;
  private readonly verified = new Map<string, { user: VerifiedUser; until: number }>();
  /** Counts forgetVerified() calls, so that a check that ran across one is not cached. */
  private verifiedGeneration = 0;

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @Inject(ApiKeyStore) private readonly apiKeys: ApiKeyStore,
    @Inject(UserStore) private readonly users: UserStore,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(RootLogger) logger: Logger,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
  ) {
    const auth = config.auth;
    const limits = auth?.failedLogins;

    this.htpasswd = auth?.htpasswd ? new HtpasswdFile(auth.htpasswd.path, logger) : undefined;
    this.htpasswd?.watch(() => this.forgetVerified());
    this.failedLogins = new FailedLogins(
      limits?.limit ?? 10,
      durationMs(limits?.window ?? '1m'),
      durationMs(limits?.delay ?? '1s'),
    );
  }

  onModuleDestroy(): void {
    this.htpasswd?.close();
  }

  /** Forgets cached verifications, after the htpasswd file changed or a key was revoked. */
  forgetVerified(): void {
    this.verified.clear();
    this.verifiedGeneration += 1;
  }

  /**
   * Returns the user, or throws AuthenticationRequiredError (with `challenge` for registry clients) or
   * TooManyLoginFailuresError. `address` is the client address the failure limit counts against.
   * A `login` (the token service or the sign-in form) is always audited; Basic credentials sent with
   * ordinary requests are audited when they are checked, at most once a minute.
   */
  async verify(
    username: string,
    password: string,
    address: string,
    options: VerifyOptions = {},
  ): Promise<VerifiedUser> {
    const retryAfter = this.failedLogins.retryAfterSeconds(address);
    // The method label for metrics, known before checking because API keys have a recognisable form.
    const claimedMethod = parseApiKey(password) ? 'api-key' : 'htpasswd';

    if (retryAfter > 0) {
      this.activity.recordAuthAttempt(claimedMethod, 'rate-limited');

      throw new TooManyLoginFailuresError(retryAfter);
    }

    const cacheKey = sha256Hex(`${username}\u0000${password}`);
    const cached = this.verified.get(cacheKey);

    if (cached && cached.until > Date.now()) {
      this.activity.recordAuthAttempt(cached.user.method, 'success');

      if (options.login) {
        this.audit.record('login', { user: username, method: cached.user.method, address });
      }

      return cached.user;
    }

    const reason = Buffer.byteLength(password) > maxPasswordBytes ? 'password-too-long' : undefined;
    const generation = this.verifiedGeneration;
    const user = reason ? undefined : await this.check(username, password);

    if (!user) {
      this.activity.recordAuthAttempt(claimedMethod, 'failure');
      await this.fail(username, address, reason ?? 'bad-credentials');

      throw new AuthenticationRequiredError(
        reason === 'password-too-long'
          ? `passwords are limited to ${maxPasswordBytes} bytes`
          : 'invalid username or password',
        options.challenge,
      );
    }

    if (this.verified.size >= maxCachedCredentials) {
      this.verified.clear();
    }

    // A check that ran across a reload of the file or a revocation checked the old state, so it is not
    // cached. Otherwise a deleted user would stay signed in until the entry expired.
    if (generation === this.verifiedGeneration) {
      this.verified.set(cacheKey, {
        user,
        until: Math.min(Date.now() + verifiedCacheMs, user.expiresAt ?? Infinity),
      });
    }

    this.audit.record('login', { user: username, method: user.method, address });
    this.activity.recordAuthAttempt(user.method, 'success');

    return user;
  }

  /**
   * Returns the user's groups if the user still exists (in the htpasswd file, or signed in before through
   * OIDC or forward auth), or undefined.
   */
  async groupsOf(username: string): Promise<string[] | undefined> {
    if (this.htpasswd?.has(username)) {
      return [];
    }

    const record = await this.users.find(username);

    return record && record.source !== 'htpasswd' ? record.groups : undefined;
  }

  /**
   * Returns a fingerprint of the user's htpasswd hash, which changes with the password; undefined for
   * users outside the file.
   */
  passwordTag(username: string): string | undefined {
    const hash = this.htpasswd?.hashOf(username);

    return hash === undefined ? undefined : sha256Hex(hash).slice(0, 16);
  }

  /** Checks that an API key of this user is still active, for refresh tokens made from it. */
  async apiKeyValid(username: string, id: string): Promise<boolean> {
    const key = await this.apiKeys.find(id);

    return key !== undefined && key.username === username && apiKeyState(key, Date.now()) === 'active';
  }

  private async check(username: string, password: string): Promise<VerifiedUser | undefined> {
    const apiKey = parseApiKey(password);

    if (apiKey) {
      return this.checkApiKey(username, apiKey.id, apiKey.secret);
    }

    if (this.htpasswd && (await this.htpasswd.verify(username, password))) {
      return { username, groups: [], method: 'htpasswd' };
    }

    return undefined;
  }

  private async checkApiKey(username: string, id: string, secret: string): Promise<VerifiedUser | undefined> {
    const key = await this.apiKeys.find(id);
    const now = Date.now();

    if (
      !key ||
      key.username !== username ||
      !hashesEqual(key.secretHash, sha256Hex(secret)) ||
      apiKeyState(key, now) !== 'active'
    ) {
      return undefined;
    }

    const groups = await this.groupsOf(username);

    if (groups === undefined) {
      return undefined;
    }

    if (key.lastUsedAt === null || now - key.lastUsedAt >= lastUseResolutionMs) {
      await this.apiKeys.recordUse(id, now);
    }

    return {
      username,
      groups,
      method: 'api-key',
      apiKeyId: id,
      ...(key.expiresAt === null ? {} : { expiresAt: key.expiresAt }),
    };
  }

  private async fail(username: string, address: string, reason: string): Promise<void> {
    const { log, lockedOut } = this.failedLogins.record(address);

    // One record per address and window, and one at the lockout: a guessing run must not flood the log.
    if (log || lockedOut) {
      this.audit.record('login-failed', {
        user: username,
        address,
        reason,
        ...(lockedOut ? { lockedOutForSeconds: this.failedLogins.retryAfterSeconds(address) } : {}),
      });
    }

    await sleep(this.failedLogins.delayMs);
  }
}
