import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { Inject, Injectable } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

import { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import type { ResourceAccess } from './scope.js';

/** Claims of an access token about its bearer. */
export interface AccessClaims {
  /** Empty for anonymous tokens. */
  username: string;
  groups: string[];
  access: ResourceAccess[];
}

/** Claims of a refresh token: the user, and the API key when one was used. */
export interface RefreshClaims {
  username: string;
  apiKeyId?: string;
  /** Fingerprint of the password hash the token was made with, so a password change ends it. */
  passwordTag?: string;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export class InvalidTokenError extends Error {}

const accessType = 'JWT';
const refreshType = 'wharf-refresh+jwt';
/** Allowed difference between this clock and the clock of another replica that issued a token. */
const clockToleranceSeconds = 5;

/**
 * Issues and checks the JWTs of the Docker token service, signed with one private key from
 * `auth.token.signingKeyFile` (created on first start). Access tokens and refresh tokens carry different
 * `typ` headers, so neither can stand in for the other.
 */
@Injectable()
export class TokenService {
  readonly service: string;
  private readonly issuer: string;
  private readonly ttlSeconds: number;
  private readonly refreshTtlSeconds: number;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly algorithm: string;
  private readonly keyId: string;

  constructor(@Inject(WharfConfig) config: WharfConfig) {
    const token = config.auth?.token;

    this.service = serviceName(config);
    this.issuer = token?.issuer ?? 'wharf';
    this.ttlSeconds = Math.max(1, Math.round(durationMs(token?.ttl ?? '5m') / 1000));
    this.refreshTtlSeconds = Math.max(1, Math.round(durationMs(token?.refreshTtl ?? '720h') / 1000));
    // Without an auth section no token is ever issued, so no key file is written either.
    this.privateKey = token?.signingKeyFile
      ? loadOrCreateKey(token.signingKeyFile)
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    this.publicKey = createPublicKey(this.privateKey);
    this.algorithm = algorithmOf(this.privateKey);
    this.keyId = createHash('sha256')
      .update(this.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url')
      .slice(0, 32);
  }

  /** Secret bytes other derived secrets are made from. */
  keyMaterial(): Buffer {
    return this.privateKey.export({ type: 'pkcs8', format: 'der' });
  }

  issueAccess(claims: AccessClaims): Promise<IssuedToken> {
    return this.sign(accessType, this.ttlSeconds, claims.username, {
      access: claims.access,
      ...(claims.groups.length > 0 ? { groups: claims.groups } : {}),
    });
  }

  async issueRefresh(claims: RefreshClaims): Promise<string> {
    const issued = await this.sign(refreshType, this.refreshTtlSeconds, claims.username, {
      ...(claims.apiKeyId === undefined ? {} : { key: claims.apiKeyId }),
      ...(claims.passwordTag === undefined ? {} : { pwd: claims.passwordTag }),
    });

    return issued.token;
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    const payload = await this.verify(token, accessType);

    if (!Array.isArray(payload.access)) {
      throw new InvalidTokenError('the token has no access claim');
    }

    return {
      username: typeof payload.sub === 'string' ? payload.sub : '',
      groups: stringArray(payload.groups),
      access: (payload.access as unknown[]).filter(isResourceAccess),
    };
  }

  async verifyRefresh(token: string): Promise<RefreshClaims> {
    const payload = await this.verify(token, refreshType);

    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new InvalidTokenError('the refresh token names no user');
    }

    return {
      username: payload.sub,
      ...(typeof payload.key === 'string' ? { apiKeyId: payload.key } : {}),
      ...(typeof payload.pwd === 'string' ? { passwordTag: payload.pwd } : {}),
    };
  }

  private async sign(
    type: string,
    ttl: number,
    subject: string,
    claims: Record<string, unknown>,
  ): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, typ: type, kid: this.keyId })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setAudience(this.service)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(this.privateKey);

    return { token, expiresIn: ttl, issuedAt: new Date(now * 1000).toISOString() };
  }

  private async verify(token: string, type: string) {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [this.algorithm],
        issuer: this.issuer,
        audience: this.service,
        typ: type,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      });

      return payload;
    } catch (error) {
      throw new InvalidTokenError(describeJoseError(error, type));
    }
  }
}

/** Picks the challenge's `service` and the tokens' audience: configured, else the external URL's host. */
function serviceName(config: WharfConfig): string {
  if (config.auth?.token.service !== undefined) {
    return config.auth.token.service;
  }

  return config.http.externalUrl === undefined ? 'wharf' : new URL(config.http.externalUrl).host;
}

function loadOrCreateKey(file: string): KeyObject {
  let pem: string;

  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the token signing key ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }

    pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    mkdirSync(dirname(file), { recursive: true });

    // `wx` never replaces a key another replica wrote in the meantime; that key is then read back.
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw writeError;
      }

      pem = readFileSync(file, 'utf8');
    }
  }

  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error(`the token signing key ${file} is not a PEM private key`);
  }
}

/** JWS algorithms by key type, and for EC keys by curve. */
const algorithms: Record<string, string> = {
  'ec:prime256v1': 'ES256',
  'ec:secp384r1': 'ES384',
  rsa: 'RS256',
  ed25519: 'EdDSA',
};

function algorithmOf(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  const algorithm = algorithms[type === 'ec' ? `ec:${key.asymmetricKeyDetails?.namedCurve}` : type];

  if (algorithm !== undefined) {
    return algorithm;
  }

  throw new Error(`token signing keys must be EC P-256 or P-384, RSA or Ed25519, not ${type}`);
}

function describeJoseError(error: unknown, expectedType: string): string {
  if (error instanceof joseErrors.JWTExpired) {
    return 'the token has expired';
  }

  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') {
      return expectedType === accessType
        ? 'this is not an access token; send the access token from /auth/token'
        : 'this is not a refresh token';
    }

    return error.claim === 'nbf'
      ? 'the token is not valid yet'
      : `the token's "${error.claim}" claim is not accepted`;
  }

  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return 'the token is signed with an algorithm this registry does not accept';
  }

  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return 'the token signature does not verify';
  }

  return 'the token is malformed';
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function isResourceAccess(value: unknown): value is ResourceAccess {
  const entry = value as ResourceAccess;

  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.type === 'string' &&
    typeof entry.name === 'string' &&
    Array.isArray(entry.actions) &&
    entry.actions.every((action) => typeof action === 'string')
  );
}
