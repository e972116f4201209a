import { createHash } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import type { WebCaller } from './authenticator.js';
import { secretsEqual, userCsrfToken } from './session.service.js';
import { TokenService } from './token-service.js';

export const csrfHeader = 'x-csrf-token';

/**
 * CSRF tokens for requests a browser authenticates by itself. A session has its own random token; a
 * forward-auth user has one derived from the token signing key, so replicas agree on it.
 */
@Injectable()
export class CsrfTokens {
  private readonly secret: Buffer;

  constructor(@Inject(TokenService) tokens: TokenService) {
    this.secret = createHash('sha256').update(tokens.keyMaterial()).update('wharf-csrf').digest();
  }

  /** The token the caller must send, or undefined when its credentials cannot be sent by a browser alone. */
  tokenFor(caller: WebCaller): string | undefined {
    if (caller.session) {
      return caller.session.csrfToken;
    }

    return caller.forwarded && caller.subject.kind === 'user'
      ? userCsrfToken(this.secret, caller.subject.username)
      : undefined;
  }

  check(request: FastifyRequest, caller: WebCaller): boolean {
    const expected = this.tokenFor(caller);
    const sent = request.headers[csrfHeader];

    return expected === undefined || (typeof sent === 'string' && secretsEqual(sent, expected));
  }
}
