import type { FastifyReply, FastifyRequest } from 'fastify';

import { subjectName } from '../../auth/subject.js';
import { MethodNotAllowedError } from '../../common/domain-errors.js';

export type MethodHandler<Route> = (
  route: Route,
  request: FastifyRequest,
  reply: FastifyReply,
) => Promise<void>;

/** Runs the handler registered for the request's method, or rejects the method with 405. */
export async function dispatch<Route>(
  table: Partial<Record<string, MethodHandler<Route>>>,
  route: Route,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const handler = table[request.method];

  if (!handler) {
    throw new MethodNotAllowedError(request.method, Object.keys(table));
  }

  await handler(route, request, reply);
}

/** The caller's name for audit records; empty for anonymous callers and when auth is off. */
export function callerName(request: FastifyRequest): string {
  const subject = request.registryGrant?.subject;

  return subject ? subjectName(subject) : '';
}
