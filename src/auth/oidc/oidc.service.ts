import { readFileSync } from 'node:fs';

import { BadRequestException, HttpException, Inject, Injectable } from '@nestjs/common';
import * as client from 'openid-client';
import type { Logger } from 'pino';

import { RootLogger } from '../../common/root-logger.js';
import { type OidcConfig, WharfConfig } from '../../config/config.schema.js';
import { SessionStore } from '../../metadata/stores/session.store.js';
import { sha256Hex } from '../api-key-format.js';
import { pendingLoginMaxAgeMs } from '../session.service.js';

/** Path the browser is sent to after signing in when the login request has no `returnTo`. */
export const defaultReturnTo = '/home';

/** Timeout of each request to the provider (discovery, token, userinfo), in seconds. */
const providerTimeoutSeconds = 10;

const maxReturnToLength = 2048;
const maxUsernameLength = 255;

/** The provider could not be reached (503) or sent a response Wharf cannot use (502). */
export class OidcProviderError extends HttpException {
  constructor(status: 502 | 503, message: string) {
    super(message, status);
    this.name = 'OidcProviderError';
  }
}

/** A completed sign-in: the user's name and groups from the provider's claims, and the path to redirect to. */
export interface OidcSignIn {
  username: string;
  groups: string[];
  idToken: string;
  returnTo: string;
}

type ProviderStep = 'discovery' | 'token request' | 'userinfo request';

/**
 * OpenID Connect sign-in with openid-client: discovery of `auth.oidc.issuer`, authorization code with
 * PKCE, state and nonce, and RP-initiated logout. Discovery runs on first use and again on the next
 * request after it failed, so Wharf starts while the provider is down.
 */
@Injectable()
export class OidcService {
  readonly enabled: boolean;
  private readonly options: OidcConfig | undefined;
  /** External base URL of Wharf without a trailing slash, for the callback and post-logout URLs. */
  private readonly redirectBase: string;
  private readonly clientSecret: string | undefined;
  private configuration: Promise<client.Configuration> | undefined;

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @Inject(SessionStore) private readonly sessions: SessionStore,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {
    this.options = config.auth?.oidc;
    this.enabled = this.options !== undefined;
    this.redirectBase = (this.options?.redirectBase ?? config.http.externalUrl ?? '').replace(/\/+$/, '');
    this.clientSecret = this.options?.clientSecretFile
      ? readClientSecret(this.options.clientSecretFile)
      : undefined;

    if (this.options && new URL(this.options.issuer).protocol === 'http:') {
      logger.warn(
        { issuer: this.options.issuer },
        'OIDC issuer is not https, so authorization codes and tokens cross the network unencrypted',
      );
    }
  }

  private get callbackUrl(): string {
    return `${this.redirectBase}/auth/oidc/callback`;
  }

  /**
   * Stores a new pending sign-in (state, nonce, PKCE verifier) and returns the provider's authorization
   * URL. Only the SHA-256 of the state is stored, as for session ids, so a copy of the database does not
   * reveal live state values.
   */
  async startLogin(returnTo: string): Promise<URL> {
    const options = this.requireOptions();
    const configuration = await this.discover();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
    const now = Date.now();

    await this.deleteExpired(now);
    await this.sessions.saveOidcLogin({
      stateHash: sha256Hex(state),
      nonce,
      codeVerifier,
      returnTo,
      createdAt: now,
    });

    return client.buildAuthorizationUrl(configuration, {
      response_type: 'code',
      scope: options.scopes.join(' '),
      redirect_uri: this.callbackUrl,
      state,
      nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /**
   * Completes a sign-in from the callback's query parameters: takes the pending sign-in its state names
   * (so a state works once), exchanges the code, and reads the user's name and groups from the claims.
   */
  async finishLogin(query: URLSearchParams): Promise<OidcSignIn> {
    const options = this.requireOptions();
    const state = singleParameter(query, 'state');
    // Taken before anything else is checked, so that a failed callback also ends its sign-in.
    const pending = state === undefined ? undefined : await this.sessions.takeOidcLogin(sha256Hex(state));
    const providerError = query.get('error');

    if (providerError !== null) {
      throw new BadRequestException(
        `sign-in failed: the OpenID provider returned error ${describeErrorCode(providerError)}; start again`,
      );
    }

    if (state === undefined) {
      throw new BadRequestException(
        'the callback needs exactly one state parameter; start the sign-in again',
      );
    }

    if (pending === undefined) {
      throw new BadRequestException('unknown or already used sign-in state; start the sign-in again');
    }

    if (isPendingLoginExpired(pending.createdAt, Date.now())) {
      throw new BadRequestException('sign-in expired, start again');
    }

    if (singleParameter(query, 'code') === undefined) {
      throw new BadRequestException('the callback needs exactly one code parameter; start the sign-in again');
    }

    const configuration = await this.discover();
    const issuerParameter = query.get('iss');

    // RFC 9207: a response that names another issuer was meant for another provider (a mix-up attack).
    if (issuerParameter !== null && issuerParameter !== configuration.serverMetadata().issuer) {
      throw new BadRequestException(
        "the callback's iss parameter does not match auth.oidc.issuer; start the sign-in again",
      );
    }

    const currentUrl = new URL(this.callbackUrl);

    for (const [name, value] of query) {
      currentUrl.searchParams.append(name, value);
    }

    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

    try {
      tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        expectedState: state,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.providerFailure('token request', error);
    }

    const claims = await this.claimsOf(configuration, tokens);
    const user = userFromClaims(claims, options.usernameClaim, options.groupsClaim);

    if (user.username === undefined) {
      throw new BadRequestException(
        `the OpenID provider sent no usable "${options.usernameClaim}" claim (a string of 1 to ${maxUsernameLength} ` +
          'characters) for this user; an administrator can change auth.oidc.usernameClaim or auth.oidc.scopes',
      );
    }

    return {
      username: user.username,
      groups: user.groups,
      idToken: tokens.id_token!,
      returnTo: pending.returnTo,
    };
  }

  /** Builds the provider's end-session URL for an ID token, or returns undefined when the provider has none. */
  async endSessionUrl(idToken: string | undefined): Promise<string | undefined> {
    if (!this.enabled) {
      return undefined;
    }

    let configuration: client.Configuration;

    try {
      configuration = await this.discover();
    } catch {
      // discover() logged the failure. Signing out of Wharf itself still succeeds.
      return undefined;
    }

    if (configuration.serverMetadata().end_session_endpoint === undefined) {
      return undefined;
    }

    const parameters: Record<string, string> = { post_logout_redirect_uri: `${this.redirectBase}/home` };

    if (idToken !== undefined) {
      parameters.id_token_hint = idToken;
    }

    return client.buildEndSessionUrl(configuration, parameters).href;
  }

  /** Claims of the ID token, completed from the userinfo endpoint when it lacks the configured ones. */
  private async claimsOf(
    configuration: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  ): Promise<Record<string, unknown>> {
    const options = this.requireOptions();
    const idClaims = tokens.claims()!;
    const complete = options.usernameClaim in idClaims && options.groupsClaim in idClaims;

    if (complete || configuration.serverMetadata().userinfo_endpoint === undefined) {
      return idClaims;
    }

    try {
      const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);

      // openid-client validated the ID token (issuer, audience, nonce), so its claims win over userinfo.
      return { ...userinfo, ...idClaims };
    } catch (error) {
      throw this.providerFailure('userinfo request', error);
    }
  }

  /** Runs discovery once and shares the result. A failed discovery is forgotten, so the next request tries again. */
  private discover(): Promise<client.Configuration> {
    this.configuration ??= this.runDiscovery().catch((error: unknown) => {
      this.configuration = undefined;

      throw error;
    });

    return this.configuration;
  }

  private async runDiscovery(): Promise<client.Configuration> {
    const options = this.requireOptions();
    const issuer = new URL(options.issuer);
    const authentication =
      this.clientSecret === undefined ? client.None() : client.ClientSecretBasic(this.clientSecret);

    try {
      const configuration = await client.discovery(issuer, options.clientId, undefined, authentication, {
        timeout: providerTimeoutSeconds,
        execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
      });

      this.logger.info({ issuer: options.issuer }, 'OIDC provider discovered');

      return configuration;
    } catch (error) {
      throw this.providerFailure('discovery', error);
    }
  }

  /**
   * Logs a failed provider request and returns the error for the client: 400 when the provider
   * rejected the sign-in itself, 503 when it could not be reached, 502 otherwise. Only the error's
   * name, code and message are logged, because openid-client attaches response bodies that can hold
   * tokens.
   */
  private providerFailure(step: ProviderStep, error: unknown): Error {
    const issuer = this.options?.issuer;
    const failure = describeFailure(error);

    if (error instanceof client.ResponseBodyError && error.status < 500 && step === 'token request') {
      this.logger.warn({ issuer, step, failure }, 'OIDC provider rejected the sign-in');

      return new BadRequestException(
        `sign-in failed: the OpenID provider rejected the authorization code with error ${describeErrorCode(error.error)}; start again`,
      );
    }

    if (isUnreachable(error)) {
      this.logger.warn({ issuer, step, failure }, 'OIDC provider unreachable');

      return new OidcProviderError(503, `the OpenID provider could not be reached (${step}); retry later`);
    }

    this.logger.error({ issuer, step, failure }, 'OIDC provider request failed');

    return new OidcProviderError(
      502,
      `the OpenID provider sent an invalid response (${step}); retry later, or ask an administrator to check the log`,
    );
  }

  private requireOptions(): OidcConfig {
    if (this.options === undefined) {
      throw new Error('OIDC is not configured (auth.oidc)');
    }

    return this.options;
  }

  private async deleteExpired(now: number): Promise<void> {
    try {
      await this.sessions.deleteExpired(now, now - pendingLoginMaxAgeMs);
    } catch (error) {
      // Only clean-up failed, so the sign-in goes on and the next one tries again.
      this.logger.error({ err: error }, 'failed to delete expired sessions and sign-ins');
    }
  }
}

/** Checks whether a pending sign-in started at `createdAt` (epoch ms) is too old to finish at `now`. */
export function isPendingLoginExpired(createdAt: number, now: number): boolean {
  return now - createdAt > pendingLoginMaxAgeMs;
}

/**
 * Checks the `returnTo` of a login request and returns it, or `/home` when absent. Only a path on this
 * site is accepted: it starts with one `/` and contains no backslash, space or control character,
 * because browsers read `//host`, `/\host` and paths with stripped tabs as links to another site.
 */
export function resolveReturnTo(value: unknown): string {
  if (value === undefined || value === '') {
    return defaultReturnTo;
  }

  if (typeof value !== 'string') {
    throw new BadRequestException('returnTo must be given at most once');
  }

  if (value.length > maxReturnToLength) {
    throw new BadRequestException(`returnTo must be at most ${maxReturnToLength} characters`);
  }

  const relativePath = /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(value);

  if (!relativePath) {
    throw new BadRequestException(
      'returnTo must be a path on this site that starts with a single "/" and has no backslash, ' +
        'space or control character, such as /home',
    );
  }

  return value;
}

/**
 * Reads the username and groups from claims. The username must be a string of 1 to 255 characters.
 * Groups may be an array, whose non-string items are skipped, or a single string.
 */
export function userFromClaims(
  claims: Record<string, unknown>,
  usernameClaim: string,
  groupsClaim: string,
): { username: string | undefined; groups: string[] } {
  const name = claims[usernameClaim];
  const username =
    typeof name === 'string' && name.length > 0 && name.length <= maxUsernameLength ? name : undefined;
  const rawGroups = claims[groupsClaim];
  let groups: unknown[] = [];

  if (Array.isArray(rawGroups)) {
    groups = rawGroups;
  } else if (typeof rawGroups === 'string') {
    groups = [rawGroups];
  }

  return {
    username,
    groups: [
      ...new Set(groups.filter((group): group is string => typeof group === 'string' && group !== '')),
    ],
  };
}

/** Reads a query parameter that must appear once. Returns undefined when it is missing, empty or repeated. */
function singleParameter(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);

  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/**
 * Quotes an OAuth error code for a message. RFC 6749 limits codes to printable ASCII, and this accepts
 * only letters, digits, `_`, `.` and `-`, so that markup or other text never reaches the message.
 */
function describeErrorCode(code: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? `"${code}"` : '(an invalid error code)';
}

function readClientSecret(file: string): string {
  let secret: string;

  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(
      `auth.oidc.clientSecretFile ${file} is unreadable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      { cause: error },
    );
  }

  if (secret === '') {
    throw new Error(`auth.oidc.clientSecretFile ${file} is empty`);
  }

  return secret;
}

/** Checks whether an error is a network failure or timeout rather than a response Wharf could not use. */
function isUnreachable(error: unknown): boolean {
  // fetch() rejects with a TypeError whose cause is the socket error. openid-client's own argument
  // errors are TypeErrors too, but they have no cause.
  if (error instanceof TypeError && error.cause !== undefined) {
    return true;
  }

  return (
    error instanceof client.ClientError && (error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT')
  );
}

/** Picks the parts of an openid-client error that are safe to log, leaving out its cause and response body. */
function describeFailure(error: unknown): Record<string, unknown> {
  if (error instanceof client.ResponseBodyError) {
    return {
      name: error.name,
      status: error.status,
      error: error.error,
      description: error.error_description?.slice(0, 200),
    };
  }

  if (!(error instanceof Error)) {
    return { message: String(error) };
  }

  const cause = error.cause instanceof Error ? error.cause : undefined;

  return {
    name: error.name,
    code: (error as { code?: unknown }).code,
    message: error.message,
    // The socket error (such as ECONNREFUSED) of a failed fetch().
    cause: cause ? { code: (cause as NodeJS.ErrnoException).code, message: cause.message } : undefined,
  };
}
