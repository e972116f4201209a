import { Global, Inject, Module } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';

import { AuthModule } from '../auth/auth.module.js';
import { ActivityObserver } from '../common/activity-observer.js';
import { WharfConfig } from '../config/config.schema.js';
import { defaultMetricsPrefix, metricProviders } from './metric-definitions.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsListener } from './metrics-listener.service.js';
import { RequestMetrics } from './request-metrics.js';
import { requestTalliesProvider } from './request-tallies.js';
import { StorageStatisticsSnapshot } from './storage-statistics-snapshot.js';
import { WharfMetrics } from './wharf-metrics.service.js';

/**
 * Prometheus metrics at /metrics and on the metrics port. Global, so that Auth, Upstream and
 * Distribution services can inject ActivityObserver, which this module provides, without depending on
 * it. Metrics live in prom-client's process-wide default registry.
 */
@Global()
@Module({
  imports: [AuthModule],
  controllers: [MetricsController],
  providers: [
    ...metricProviders,
    requestTalliesProvider,
    StorageStatisticsSnapshot,
    WharfMetrics,
    { provide: ActivityObserver, useExisting: WharfMetrics },
    RequestMetrics,
    MetricsListener,
  ],
  exports: [ActivityObserver],
})
export class MetricsModule {
  constructor(@Inject(WharfConfig) config: WharfConfig) {
    const registered = register.getSingleMetric(`${defaultMetricsPrefix}process_cpu_seconds_total`);

    // Node.js process metrics (CPU, memory, event loop lag, GC), registered once per process.
    if (config.metrics.enabled && registered === undefined) {
      collectDefaultMetrics({ prefix: defaultMetricsPrefix });
    }
  }
}
