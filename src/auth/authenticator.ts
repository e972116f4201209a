import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { AuthenticationRequiredError } from '../common/domain-errors.js';
import { NetworkList } from '../common/networks.js';
import { WharfConfig } from '../config/config.schema.js';
import type { SessionRecord } from '../metadata/stores/session.store.js';
import { ActivityObserver } from '../common/activity-observer.js';
import { MalformedAuthorizationError, parseAuthorization } from './authorization-header.js';
import { Credentials } from './credentials.js';
import { SessionService } from './session.service.js';
import type { AuthMethod, Subject } from './subject.js';
import { type AccessClaims, InvalidTokenError, TokenService } from './token-service.js';

/** Caller of a registry request, with the token it presented if any. */
export interface RegistryCaller {
  subject: Subject;
  /** Authentication scheme used: no credentials, a password or key in Basic, or a bearer token. */
  scheme: 'none' | 'basic' | 'bearer';
  token?: AccessClaims;
}

/** Caller of a web or admin API request, with the session or header that identified them. */
export interface WebCaller {
  subject: Subject;
  session?: SessionRecord;
  /** Set when forward-auth headers from a trusted proxy named the user. */
  forwarded?: boolean;
}

/**
 * Turns a request's credentials into a Subject. Registry requests may carry Basic or Bearer; web and
 * admin requests may carry a session cookie, trusted forward-auth headers, or Basic.
 */
@Injectable()
export class Authenticator {
  private readonly anonymousNetworks: NetworkList;
  private readonly trustedProxies: NetworkList;

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(Credentials) private readonly credentials: Credentials,
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(SessionService) private readonly sessions: SessionService,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
  ) {
    this.anonymousNetworks = new NetworkList(config.access.anonymous.networks);
    this.trustedProxies = new NetworkList(config.http.trustedProxies);
  }

  /** `challenge` is sent with a 401 when the credentials fail. */
  async registryCaller(
    request: FastifyRequest,
    challenge: (error?: string) => string,
  ): Promise<RegistryCaller> {
    const inAnonymousNetwork = this.inAnonymousNetwork(request);
    const presented = this.parse(request, challenge());

    switch (presented.scheme) {
      case 'none':
        return { subject: { kind: 'anonymous', inAnonymousNetwork }, scheme: 'none' };
      case 'basic': {
        const user = await this.credentials.verify(presented.username, presented.password, request.ip, {
          challenge: challenge(),
        });

        return {
          subject: { kind: 'user', ...user, inAnonymousNetwork },
          scheme: 'basic',
        };
      }
      case 'bearer': {
        const token = await this.tokens.verifyAccess(presented.token).catch((error: unknown) => {
          this.activity.recordAuthAttempt('token', 'failure');

          throw error instanceof InvalidTokenError
            ? new AuthenticationRequiredError(error.message, challenge('invalid_token'))
            : error;
        });

        this.activity.recordAuthAttempt('token', 'success');

        const subject: Subject =
          token.username === ''
            ? { kind: 'anonymous', inAnonymousNetwork }
            : {
                kind: 'user',
                username: token.username,
                groups: token.groups,
                method: 'token',
                inAnonymousNetwork,
              };

        return { subject, scheme: 'bearer', token };
      }
    }
  }

  /** Identifies the caller of a web or admin API request; anonymous when nothing identifies them. */
  async webCaller(request: FastifyRequest): Promise<WebCaller> {
    const inAnonymousNetwork = this.inAnonymousNetwork(request);
    const session = await this.sessions.find(request);

    // A session of a user removed from the htpasswd file ends with the user.
    if (session && (session.method === 'oidc' || this.credentials.htpasswd?.has(session.username))) {
      return {
        subject: {
          kind: 'user',
          username: session.username,
          groups: session.groups,
          method: session.method as AuthMethod,
          inAnonymousNetwork,
        },
        session,
      };
    }

    const forwarded = this.forwardedUser(request);

    if (forwarded) {
      return {
        subject: { kind: 'user', ...forwarded, method: 'forward-auth', inAnonymousNetwork },
        forwarded: true,
      };
    }

    const presented = this.parse(request, undefined);

    if (presented.scheme === 'basic') {
      const user = await this.credentials.verify(presented.username, presented.password, request.ip);

      return { subject: { kind: 'user', ...user, inAnonymousNetwork } };
    }

    if (presented.scheme === 'bearer') {
      throw new AuthenticationRequiredError(
        'registry tokens are not accepted here; sign in or use Basic credentials',
      );
    }

    return { subject: { kind: 'anonymous', inAnonymousNetwork } };
  }

  inAnonymousNetwork(request: FastifyRequest): boolean {
    return this.anonymousNetworks.contains(request.ip);
  }

  /** Forward-auth headers count only when enabled and sent by a trusted proxy (the socket peer). */
  private forwardedUser(request: FastifyRequest): { username: string; groups: string[] } | undefined {
    const forwardAuth = this.config.auth?.forwardAuth;

    if (!forwardAuth?.enabled || !this.trustedProxies.contains(request.socket.remoteAddress)) {
      return undefined;
    }

    const username = headerValue(request, forwardAuth.userHeader);

    if (username === undefined || username === '') {
      return undefined;
    }

    const groups = (headerValue(request, forwardAuth.groupsHeader) ?? '')
      .split('|')
      .map((group) => group.trim())
      .filter((group) => group !== '');

    return { username, groups };
  }

  private parse(request: FastifyRequest, challenge: string | undefined) {
    try {
      return parseAuthorization(request.headers.authorization);
    } catch (error) {
      if (error instanceof MalformedAuthorizationError) {
        throw new AuthenticationRequiredError(`malformed Authorization header: ${error.message}`, challenge);
      }

      throw error;
    }
  }
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];

  return Array.isArray(value) ? value[0] : value;
}
