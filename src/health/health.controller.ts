import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';

import { Public } from '../auth/route-access.js';
import { RootLogger } from '../common/root-logger.js';
import { HealthChecks } from './health-checks.js';

/**
 * The probe endpoints. Each returns terminus's JSON: 200 when every check is up, 503 when one is
 * down, with the failing checks under `error`.
 */
@Controller()
@Public()
export class HealthController {
  private readonly logger: Logger;
  /** The last readiness outcome, so that only changes are logged and not every probe. */
  private lastReady: boolean | undefined;

  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthChecks) private readonly checks: HealthChecks,
    @Inject(RootLogger) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'health' });
  }

  /**
   * Liveness: the process responds. A restart cannot fix a full disk or a lost database, so they are
   * not checked.
   */
  @Get('livez')
  @HealthCheck()
  livez(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [() => this.checks.process()]);
  }

  /** Readiness: the process should get traffic. */
  @Get('readyz')
  @HealthCheck()
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const result = await this.run(reply, [
      () => this.checks.shutdownState(),
      () => this.checks.database(),
      () => this.checks.storage(),
      () => this.checks.disk(),
    ]);

    this.logReadinessChange(result);

    return result;
  }

  /** Start-up: migrations are done and the server listens. */
  @Get('startupz')
  @HealthCheck()
  startupz(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [() => this.checks.migrations(), () => this.checks.listening()]);
  }

  /** Runs the checks and returns their result, setting 503 when one failed instead of raising. */
  private async run(reply: FastifyReply, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      // Terminus raises its result inside this exception; the global error filter would replace it.
      if (error instanceof ServiceUnavailableException) {
        reply.status(503);

        return error.getResponse() as HealthCheckResult;
      }

      throw error;
    }
  }

  private logReadinessChange(result: HealthCheckResult): void {
    const ready = result.status === 'ok' || result.status === 'degraded';

    if (ready === this.lastReady) {
      return;
    }

    if (ready) {
      this.logger.info('ready');
    } else {
      this.logger.warn({ failedChecks: result.error }, 'not ready');
    }

    this.lastReady = ready;
  }
}
