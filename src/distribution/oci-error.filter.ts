import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { DomainError } from '../common/domain-errors.js';
import { mapDomainError, type OciErrorResponse } from './oci-error.mapper.js';
import { ociErrorCodes } from './oci-errors.js';

/**
 * Writes every error of the `/v2` API as `{"errors":[{"code","message","detail"}]}`. Domain errors go
 * through the mapper; anything else is a 500 `UNKNOWN` whose cause is logged and not sent.
 */
@Catch()
export class OciErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();

    if (isClientAbort(exception, request)) {
      // The client closed the connection before its request body ended, so no response can reach
      // it. The 'request aborted' access line records the request, which is not a fault of Wharf.
      request.log.debug({ err: exception }, 'request body cut off by the client');
      reply.raw.destroy();

      return;
    }

    const response = toResponse(exception, request.url.split('?')[0]);

    if (response.status >= 500 && !(exception instanceof DomainError)) {
      request.log.error({ err: exception }, 'request failed');
    } else if (response.status >= 500) {
      // An expected condition such as an unreachable upstream or a shutdown: one line, no stack trace,
      // so that error-level alerts stay for faults in Wharf itself. Upstream errors carry a `reason`
      // with the upstream's address, which goes to the log and never to the client.
      const domainError = exception as DomainError & { reason?: string };

      request.log.warn(
        {
          code: response.code,
          kind: domainError.kind,
          message: domainError.message,
          reason: domainError.reason,
        },
        'request failed',
      );
    } else {
      request.log.debug({ code: response.code, detail: response.detail }, 'request rejected');
    }

    if (reply.sent || reply.raw.headersSent) {
      // The body was already streaming, so the status cannot change; ending the connection shows the
      // client that the transfer is incomplete.
      reply.raw.destroy();

      return;
    }

    const body = { errors: [{ code: response.code, message: response.message, detail: response.detail }] };

    void reply
      .status(response.status)
      .headers(response.headers)
      .header('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify(body));
  }
}

/** Returns whether `exception` is Node's error for a request stream whose client closed the connection. */
function isClientAbort(exception: unknown, request: FastifyRequest): boolean {
  return (exception as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET' && request.raw.destroyed;
}

function toResponse(exception: unknown, path: string): OciErrorResponse {
  if (exception instanceof DomainError) {
    return mapDomainError(exception, { path });
  }

  if (exception instanceof HttpException && exception.getStatus() < 500) {
    return { status: exception.getStatus(), code: 'UNSUPPORTED', message: exception.message, headers: {} };
  }

  return { status: 500, code: 'UNKNOWN', message: ociErrorCodes.UNKNOWN.message, headers: {} };
}
