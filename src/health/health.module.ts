import { Module } from '@nestjs/common';

/** Health probes: /livez, /readyz and /startupz. */
@Module({})
export class HealthModule {}
