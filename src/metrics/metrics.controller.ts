import { Controller, Get, Inject, NotFoundException, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { register } from 'prom-client';

import { RegistryAccess } from '../auth/registry-access.js';
import { Public } from '../auth/route-access.js';
import { AccessDeniedError, AuthenticationRequiredError } from '../common/domain-errors.js';
import { WharfConfig } from '../config/config.schema.js';

/**
 * `/metrics` on the main port. The guard identifies the caller (the route is public to it) and the
 * `access.metrics` rule decides here, because that rule lets anonymous clients in where the usual
 * sign-in rule would not. Without `auth`, anyone may read it.
 */
@Controller()
export class MetricsController {
  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
  ) {}

  @Get('metrics')
  @Public()
  async metrics(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (!this.config.metrics.enabled) {
      throw new NotFoundException('metrics are turned off (metrics.enabled is false)');
    }

    this.authorize(request);
    void reply.header('Content-Type', register.contentType);

    return register.metrics();
  }

  private authorize(request: FastifyRequest): void {
    const subject = request.caller?.subject;

    if (!this.access.enabled || (subject !== undefined && this.access.policy.mayReadMetrics(subject))) {
      return;
    }

    if (subject === undefined || subject.kind === 'anonymous') {
      throw new AuthenticationRequiredError('sign in to read metrics, for example with Basic credentials');
    }

    throw new AccessDeniedError(
      `"${subject.username}" may not read metrics; access.metrics lists who may, and admins may`,
    );
  }
}
