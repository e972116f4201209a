import { Controller, Get, Inject, NotFoundException, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { UserStore } from '../../metadata/stores/user.store.js';
import { AuditLog } from '../audit-log.js';
import { Public } from '../route-access.js';
import { SessionService } from '../session.service.js';
import { OidcService, resolveReturnTo } from './oidc.service.js';

/** `/auth/oidc/login` and `/auth/oidc/callback`: browser sign-in through the OpenID provider. */
@Controller('auth/oidc')
@Public()
export class OidcController {
  constructor(
    @Inject(OidcService) private readonly oidc: OidcService,
    @Inject(SessionService) private readonly sessions: SessionService,
    @Inject(UserStore) private readonly users: UserStore,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  /** Starts a sign-in and redirects to the provider; `returnTo` is the path to show afterwards. */
  @Get('login')
  async login(@Query('returnTo') returnTo: unknown, @Res() reply: FastifyReply) {
    this.requireEnabled();

    const target = resolveReturnTo(returnTo);
    const authorizationUrl = await this.oidc.startLogin(target);

    await reply.header('Cache-Control', 'no-store').redirect(authorizationUrl.href, 302);
  }

  /** Completes the sign-in when the provider redirects the browser back, and starts a session. */
  @Get('callback')
  async callback(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    this.requireEnabled();

    const queryStart = request.url.indexOf('?');
    const query = new URLSearchParams(queryStart === -1 ? '' : request.url.slice(queryStart + 1));
    const signIn = await this.oidc.finishLogin(query);

    // API keys and refresh tokens take the user's groups from this record.
    await this.users.recordLogin(signIn.username, 'oidc', signIn.groups);
    await this.sessions.create(request, reply, {
      username: signIn.username,
      groups: signIn.groups,
      method: 'oidc',
      idToken: signIn.idToken,
    });
    this.audit.record('login', { user: signIn.username, method: 'oidc', address: request.ip });

    await reply.header('Cache-Control', 'no-store').redirect(signIn.returnTo, 302);
  }

  private requireEnabled(): void {
    if (!this.oidc.enabled) {
      throw new NotFoundException('OIDC sign-in is not configured on this registry (auth.oidc)');
    }
  }
}
