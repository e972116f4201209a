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

/**
 * Names the caller in audit records: the user (empty when anonymous or when auth is off), the address,
 * and the request id that links the record to its access line.
 */
export function auditCaller(request: FastifyRequest): { user: string; address: string; requestId: string } {
  const subject = request.registryGrant?.subject;

  return { user: subject ? subjectName(subject) : '', address: request.ip, requestId: request.id };
}
