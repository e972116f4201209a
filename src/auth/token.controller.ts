import { Controller, Get, HttpException, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import {
  AuthenticationRequiredError,
  DomainError,
  TooManyLoginFailuresError,
} from '../common/domain-errors.js';
import { Authenticator } from './authenticator.js';
import { MalformedAuthorizationError, parseAuthorization } from './authorization-header.js';
import { Credentials, type VerifiedUser } from './credentials.js';
import { RegistryAccess } from './registry-access.js';
import { Public } from './route-access.js';
import { parseScopes, type ResourceAccess, ScopeError } from './scope.js';
import type { Subject } from './subject.js';
import { TokenService } from './token-service.js';

/** A rejected token request, with the OAuth 2 error code sent in reply to a POST. */
class TokenRequestError extends HttpException {
  constructor(
    status: number,
    readonly oauthError: string,
    message: string,
  ) {
    super(message, status);
  }
}

/**
 * The Docker token service at `/auth/token`. GET takes Basic credentials or none; POST takes the OAuth 2
 * password and refresh-token grants that `docker login` uses. Each grants what was asked for and the
 * policy allows, and never fails because a right is missing: the token simply lacks it.
 */
@Controller('auth/token')
@Public()
export class TokenController {
  constructor(
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(Credentials) private readonly credentials: Credentials,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
    @Inject(Authenticator) private readonly authenticator: Authenticator,
  ) {}

  @Get()
  async get(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    this.assertEnabled();

    const query = new URL(request.url, 'http://wharf.invalid').searchParams;
    const scopes = this.scopesOf(query.getAll('scope'), query.get('service'));
    const user = await this.basicUser(request);
    const offline = query.get('offline_token') === 'true' && user !== undefined;

    await this.respond(request, reply, user, scopes, offline);
  }

  @Post()
  async post(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    try {
      this.assertEnabled();

      const form = formOf(request.body);
      const scopes = this.scopesOf(form.scope === undefined ? [] : [form.scope], form.service);
      const grant = form.grant_type;

      if (grant === 'password') {
        if (!form.username || form.password === undefined) {
          throw new TokenRequestError(
            400,
            'invalid_request',
            'the password grant needs username and password',
          );
        }

        const user = await this.verify(form.username, form.password, request.ip);

        await this.respond(request, reply, user, scopes, form.access_type === 'offline');
      } else if (grant === 'refresh_token') {
        if (!form.refresh_token) {
          throw new TokenRequestError(400, 'invalid_request', 'the refresh_token grant needs refresh_token');
        }

        await this.respond(request, reply, await this.refreshUser(form.refresh_token), scopes, false);
      } else {
        throw new TokenRequestError(
          400,
          'unsupported_grant_type',
          'grant_type must be password or refresh_token',
        );
      }
    } catch (error) {
      await sendOAuthError(reply, error);
    }
  }

  private assertEnabled(): void {
    if (!this.access.enabled) {
      throw new TokenRequestError(
        404,
        'invalid_request',
        'authentication is not configured on this registry',
      );
    }
  }

  private scopesOf(values: string[], service: string | null | undefined): ResourceAccess[] {
    if (service !== null && service !== undefined && service !== this.tokens.service) {
      throw new TokenRequestError(
        400,
        'invalid_request',
        `unknown service "${service}"; this is "${this.tokens.service}"`,
      );
    }

    try {
      return parseScopes(values);
    } catch (error) {
      throw error instanceof ScopeError ? new TokenRequestError(400, 'invalid_scope', error.message) : error;
    }
  }

  private async basicUser(request: FastifyRequest): Promise<VerifiedUser | undefined> {
    let presented;

    try {
      presented = parseAuthorization(request.headers.authorization);
    } catch (error) {
      throw error instanceof MalformedAuthorizationError
        ? new AuthenticationRequiredError(`malformed Authorization header: ${error.message}`)
        : error;
    }

    if (presented.scheme === 'bearer') {
      throw new AuthenticationRequiredError('the token endpoint takes Basic credentials or none');
    }

    return presented.scheme === 'basic'
      ? this.credentials.verify(presented.username, presented.password, request.ip, { login: true })
      : undefined;
  }

  private async verify(username: string, password: string, address: string): Promise<VerifiedUser> {
    try {
      return await this.credentials.verify(username, password, address, { login: true });
    } catch (error) {
      throw error instanceof AuthenticationRequiredError
        ? new TokenRequestError(400, 'invalid_grant', error.message)
        : error;
    }
  }

  /** Resolves the user a refresh token names, if they still exist and its API key is still active. */
  private async refreshUser(token: string): Promise<VerifiedUser> {
    const claims = await this.tokens.verifyRefresh(token).catch((error: Error) => {
      throw new TokenRequestError(400, 'invalid_grant', `refresh token rejected: ${error.message}`);
    });
    const groups = await this.credentials.groupsOf(claims.username);
    const keyValid =
      claims.apiKeyId === undefined || (await this.credentials.apiKeyValid(claims.username, claims.apiKeyId));

    if (groups === undefined || !keyValid) {
      throw new TokenRequestError(
        400,
        'invalid_grant',
        'refresh token rejected: the user or API key no longer exists',
      );
    }

    if (
      claims.apiKeyId === undefined &&
      claims.passwordTag !== this.credentials.passwordTag(claims.username)
    ) {
      throw new TokenRequestError(
        400,
        'invalid_grant',
        'refresh token rejected: the password has changed since; sign in again',
      );
    }

    return claims.apiKeyId === undefined
      ? { username: claims.username, groups, method: 'htpasswd' }
      : { username: claims.username, groups, method: 'api-key', apiKeyId: claims.apiKeyId };
  }

  private async respond(
    request: FastifyRequest,
    reply: FastifyReply,
    user: VerifiedUser | undefined,
    scopes: ResourceAccess[],
    offline: boolean,
  ): Promise<void> {
    const inAnonymousNetwork = this.authenticator.inAnonymousNetwork(request);
    const subject: Subject = user
      ? { kind: 'user', ...user, inAnonymousNetwork }
      : { kind: 'anonymous', inAnonymousNetwork };
    const access = scopes
      .map((scope) => ({ ...scope, actions: this.grant(subject, scope) }))
      .filter((scope) => scope.actions.length > 0);
    const issued = await this.tokens.issueAccess({
      username: user?.username ?? '',
      groups: user?.groups ?? [],
      access,
    });
    const refreshToken =
      offline && user
        ? await this.tokens.issueRefresh({
            username: user.username,
            apiKeyId: user.apiKeyId,
            passwordTag:
              user.apiKeyId === undefined ? this.credentials.passwordTag(user.username) : undefined,
          })
        : undefined;

    await reply
      .status(200)
      .header('Cache-Control', 'no-store')
      .send({
        token: issued.token,
        access_token: issued.token,
        expires_in: issued.expiresIn,
        issued_at: issued.issuedAt,
        ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      });
  }

  private grant(subject: Subject, scope: ResourceAccess): string[] {
    if (scope.type === 'registry') {
      return this.access.mayListCatalog(subject) ? ['*'] : [];
    }

    return this.access.grantedActions(subject, scope.name, scope.actions);
  }
}

function formOf(body: unknown): Record<string, string | undefined> {
  if (typeof body !== 'object' || body === null) {
    throw new TokenRequestError(
      400,
      'invalid_request',
      'send the token request as application/x-www-form-urlencoded',
    );
  }

  return body as Record<string, string | undefined>;
}

/** OAuth 2 error bodies (`error`, `error_description`), as clients of the POST form expect. */
async function sendOAuthError(reply: FastifyReply, error: unknown): Promise<void> {
  if (error instanceof TokenRequestError) {
    await reply.status(error.getStatus()).send({ error: error.oauthError, error_description: error.message });
  } else if (error instanceof TooManyLoginFailuresError) {
    await reply
      .status(429)
      .header('Retry-After', String(error.retryAfterSeconds))
      .send({ error: 'slow_down', error_description: error.message });
  } else if (error instanceof DomainError) {
    await reply.status(400).send({ error: 'invalid_request', error_description: error.message });
  } else {
    throw error;
  }
}
