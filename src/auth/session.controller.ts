import { BadRequestException, Body, Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AccessDeniedError, AuthenticationRequiredError } from '../common/domain-errors.js';
import { WharfConfig } from '../config/config.schema.js';
import { parseApiKey } from './api-key-format.js';
import { AuditLog } from './audit-log.js';
import { Credentials } from './credentials.js';
import { CsrfTokens } from './csrf-tokens.js';
import { OidcService } from './oidc/oidc.service.js';
import { RegistryAccess } from './registry-access.js';
import { Public } from './route-access.js';
import { SessionService } from './session.service.js';

export class LoginRequest {
  @MaxLength(255)
  @MinLength(1)
  @IsString()
  username: string;

  @MaxLength(1024)
  @IsString()
  password: string;
}

/** Browser sign-in with a username and password, sign-out, and what the web UI needs to know. */
@Controller('auth')
@Public()
export class SessionController {
  constructor(
    @Inject(Credentials) private readonly credentials: Credentials,
    @Inject(SessionService) private readonly sessions: SessionService,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
    @Inject(CsrfTokens) private readonly csrf: CsrfTokens,
    @Inject(OidcService) private readonly oidc: OidcService,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(WharfConfig) private readonly config: WharfConfig,
  ) {}

  /**
   * Returns the caller's identity, the CSRF token their state-changing requests must send, and the
   * registry host for pull commands: the host of `http.externalUrl`, or null when the UI should use the
   * host it was loaded from.
   */
  @Get('session')
  session(@Req() request: FastifyRequest) {
    const caller = request.caller;
    const subject = caller?.subject;
    const user = subject?.kind === 'user' ? subject : undefined;

    return {
      authEnabled: this.access.enabled,
      oidcEnabled: this.oidc.enabled,
      passwordLoginEnabled: this.credentials.htpasswd !== undefined,
      registryHost:
        this.config.http.externalUrl === undefined ? null : new URL(this.config.http.externalUrl).host,
      authenticated: user !== undefined,
      ...(user
        ? {
            username: user.username,
            groups: user.groups,
            method: user.method,
            admin: this.access.policy.isAdmin(user),
          }
        : {}),
      ...(caller && this.csrf.tokenFor(caller) !== undefined
        ? { csrfToken: this.csrf.tokenFor(caller) }
        : {}),
    };
  }

  /** Signs in with an htpasswd password or an API key and starts a session. */
  @Post('login')
  async login(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() body: LoginRequest) {
    if (!this.access.enabled) {
      throw new AuthenticationRequiredError('authentication is not configured on this registry');
    }

    if (parseApiKey(body.password)) {
      throw new BadRequestException(
        'sign in with your password; API keys are for registry clients and the API, not for browser sessions',
      );
    }

    const user = await this.credentials.verify(body.username, body.password, request.ip, { login: true });
    const session = await this.sessions.create(request, reply, {
      username: user.username,
      groups: user.groups,
      method: user.method,
    });

    await reply
      .status(200)
      .send({ username: user.username, groups: user.groups, csrfToken: session.csrfToken });
  }

  /**
   * Ends the session. For OIDC sessions the response contains the provider's end-session URL, where the
   * browser goes next to sign out there too.
   */
  @Post('logout')
  async logout(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const session = await this.sessions.find(request);

    const subject = request.caller?.subject ?? { kind: 'anonymous', inAnonymousNetwork: false };

    if (session && !this.csrf.check(request, { subject, session })) {
      throw new AccessDeniedError('missing or wrong X-CSRF-Token header; read it from GET /auth/session');
    }

    await this.sessions.destroy(request, reply);

    if (session) {
      this.audit.record('logout', { user: session.username, method: session.method });
    }

    const endSession =
      session?.method === 'oidc' ? await this.oidc.endSessionUrl(session.idToken ?? undefined) : undefined;

    await reply.status(200).send({ redirectTo: endSession ?? '/home' });
  }
}
