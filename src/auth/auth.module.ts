import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';

import { ApiErrorFilter } from '../api/api-error.filter.js';
import { ApiKeysController } from './api-keys.controller.js';
import { AuditLog } from './audit-log.js';
import { AuthGuard } from './auth.guard.js';
import { Authenticator } from './authenticator.js';
import { Credentials } from './credentials.js';
import { CsrfTokens } from './csrf-tokens.js';
import { OidcController } from './oidc/oidc.controller.js';
import { OidcService } from './oidc/oidc.service.js';
import { RegistryAccess } from './registry-access.js';
import { SessionController } from './session.controller.js';
import { SessionService } from './session.service.js';
import { TokenController } from './token.controller.js';
import { TokenService } from './token-service.js';

/**
 * Authentication and authorization: the global guard, the token service, sessions, OIDC and API keys.
 * Other modules use RegistryAccess to authorize `/v2` requests and AuditLog to record changes.
 */
@Module({
  controllers: [TokenController, SessionController, OidcController, ApiKeysController],
  providers: [
    AuditLog,
    Credentials,
    TokenService,
    SessionService,
    Authenticator,
    RegistryAccess,
    CsrfTokens,
    OidcService,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ApiErrorFilter },
  ],
  exports: [RegistryAccess, AuditLog],
})
export class AuthModule {}
