import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';

import { WharfConfig } from '../config/config.schema.js';
import { AdminApi } from './admin-api.decorator.js';
import { SystemView } from './admin-responses.js';
import { featuresOf, redactConfig, wharfVersion } from './system-report.js';

/** `/api/v1/system`: version, enabled features and the effective configuration, for administrators only. */
@AdminApi('system', { adminOnly: true })
@Controller('api/v1/system')
export class SystemController {
  constructor(@Inject(WharfConfig) private readonly config: WharfConfig) {}

  @Get()
  @ApiOperation({ summary: 'Show the version, the enabled features and the configuration without secrets' })
  @ApiOkResponse({ type: SystemView })
  describe(): SystemView {
    return {
      version: wharfVersion(),
      features: featuresOf(this.config),
      config: redactConfig(this.config) as Record<string, unknown>,
    };
  }
}
