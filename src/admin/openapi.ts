import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { sessionCookie } from '../auth/session.service.js';
import { wharfVersion } from './system-report.js';

/** Swagger UI is served here, the JSON document at `<path>-json` and the YAML one at `<path>-yaml`. */
export const openApiPath = 'api/docs';

/**
 * Serves the OpenAPI document of Wharf's JSON API at `/api/docs-json` and Swagger UI at `/api/docs`.
 * SwaggerModule adds these routes to Fastify directly, not as Nest controllers, so the global guard
 * never runs on them and they need no sign-in. Call it before the application listens.
 */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Wharf API')
    .setDescription(
      'The admin REST API under /api/v1 and the sign-in endpoints. Repository names contain "/", which ' +
        'must be URL-encoded as %2F in a path parameter. Times are ISO 8601 in UTC and sizes are bytes. ' +
        'Errors have the body {"errors":[{"code","message"}]}. A request that changes something and is ' +
        'signed in by the session cookie must send the X-CSRF-Token header that GET /auth/session returns. ' +
        'The registry API under /v2 follows the ' +
        'OCI Distribution Specification and is not described here.',
    )
    .setVersion(wharfVersion())
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'htpasswd password or API key' }, 'basic')
    .addCookieAuth(sessionCookie, { type: 'apiKey', in: 'cookie', description: 'browser session' }, 'session')
    .build();

  SwaggerModule.setup(openApiPath, app, () => withoutRegistryApi(SwaggerModule.createDocument(app, config)));
}

/**
 * Drops `/v2` from the document. Its single wildcard route takes every method and dispatches by path,
 * so OpenAPI could describe it only as "any method on any path".
 */
function withoutRegistryApi(document: OpenAPIObject): OpenAPIObject {
  const paths = Object.fromEntries(
    Object.entries(document.paths).filter(([path]) => path !== '/v2' && !path.startsWith('/v2/')),
  );

  return { ...document, paths };
}
