import { applyDecorators } from '@nestjs/common';
import { ApiForbiddenResponse, ApiSecurity, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { AdminOnly } from '../auth/route-access.js';
import { ErrorBody } from './admin-responses.js';

/**
 * Documents an admin API controller under `tag`: callers sign in with Basic credentials or the browser
 * session, and get 401 without. With `adminOnly`, the routes are also limited to administrators and
 * document their 403.
 */
export function AdminApi(tag: string, options: { adminOnly?: boolean } = {}): ClassDecorator {
  const decorators = [
    ApiTags(tag),
    ApiSecurity('basic'),
    ApiSecurity('session'),
    ApiUnauthorizedResponse({ type: ErrorBody, description: 'Not signed in.' }),
  ];

  if (options.adminOnly === true) {
    decorators.push(
      ApiForbiddenResponse({ type: ErrorBody, description: 'The caller is not an administrator.' }),
      AdminOnly(),
    );
  }

  return applyDecorators(...decorators);
}
