import { Module } from '@nestjs/common';

import { UpstreamModule } from '../upstream/upstream.module.js';
import { Scrubber } from './scrubber.service.js';

/** Keeping the store healthy over time: scrubbing stored bytes against their digests. */
@Module({
  imports: [UpstreamModule],
  providers: [Scrubber],
  exports: [Scrubber],
})
export class LifecycleModule {}
