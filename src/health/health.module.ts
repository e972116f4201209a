import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthChecks } from './health-checks.js';
import { HealthController } from './health.controller.js';

/** Health probes: /livez, /readyz and /startupz. */
@Module({
  // Terminus would log every failed probe; the controller logs readiness changes instead.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [HealthChecks],
})
export class HealthModule {}
