import { Controller, Get, Inject } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { AdminOnly } from '../auth/route-access.js';
import { WharfConfig } from '../config/config.schema.js';
import { ErrorBody, SystemView } from './admin-responses.js';
import { featuresOf, redactConfig, wharfVersion } from './system-report.js';

/** `/api/v1/system`: version, enabled features and the effective configuration, for administrators only. */
@ApiTags('system')
@ApiSecurity('basic')
@ApiSecurity('session')
@ApiUnauthorizedResponse({ type: ErrorBody, description: 'Not signed in.' })
@ApiForbiddenResponse({ type: ErrorBody, description: 'The caller is not an administrator.' })
@Controller('api/v1/system')
@AdminOnly()
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
