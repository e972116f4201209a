import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { DomainError } from '../common/domain-errors.js';
import { mapDomainError } from '../distribution/oci-error.mapper.js';

/** Codes for HTTP errors raised outside the domain, such as a DTO that fails validation. */
const codesByStatus: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NOT_FOUND',
  405: 'UNSUPPORTED',
  409: 'CONFLICT',
  413: 'SIZE_INVALID',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOOMANYREQUESTS',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/**
 * Writes errors of the auth endpoints and the admin API in the registry's error shape,
 * `{"errors":[{"code","message"}]}`. A 401 here never carries a Basic challenge, so a browser never shows
 * its password dialog. Unexpected errors are logged and returned as a bare 500; 502, 503 and 504
 * raised on purpose keep their status, so clients know that retrying later can help.
 */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, code, message, headers } = describe(exception);

    if (status >= 500) {
      request.log.error({ err: exception }, 'request failed');
    }

    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();

      return;
    }

    void reply
      .status(status)
      .headers(headers)
      .header('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ errors: [{ code, message }] }));
  }
}

function describe(exception: unknown) {
  if (exception instanceof DomainError) {
    const mapped = mapDomainError(exception, { path: '' });
    const headers = { ...mapped.headers };

    delete headers['WWW-Authenticate'];

    return { status: mapped.status, code: mapped.code as string, message: mapped.message, headers };
  }

  // A 5xx HttpException is raised on purpose (an identity provider that is down, for example), so its
  // status and message are sent as they are.
  if (
    exception instanceof HttpException &&
    (exception.getStatus() < 500 || exception.getStatus() in codesByStatus)
  ) {
    const status = exception.getStatus();
    const response = exception.getResponse() as string | { message?: string | string[] };
    const message = typeof response === 'string' ? response : response.message;

    return {
      status,
      code: codesByStatus[status] ?? 'BAD_REQUEST',
      message: Array.isArray(message) ? message.join('; ') : (message ?? exception.message),
      headers: {},
    };
  }

  // Body parsing errors (Fastify's and the JSON and form reader's) carry a 4xx `statusCode`.
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;

  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      code: codesByStatus[statusCode] ?? 'BAD_REQUEST',
      message: (exception as Error).message,
      headers: {},
    };
  }

  return { status: 500, code: 'UNKNOWN', message: 'internal error', headers: {} };
}
