import { Module } from '@nestjs/common';

import { AuthModule } from '../auth/auth.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { GarbageCollector } from './garbage-collector.service.js';
import { Scrubber } from './scrubber.service.js';

/**
 * Keeping the store healthy over time: garbage collection with retention rules and cache quotas, and
 * scrubbing stored bytes against their digests.
 */
@Module({
  imports: [UpstreamModule, AuthModule],
  providers: [Scrubber, GarbageCollector],
  exports: [Scrubber, GarbageCollector],
})
export class LifecycleModule {}
