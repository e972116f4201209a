import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';

import { AccessDeniedError, AuthenticationRequiredError } from '../common/domain-errors.js';
import { type WebCaller, Authenticator } from './authenticator.js';
import { CsrfTokens } from './csrf-tokens.js';
import { RegistryAccess } from './registry-access.js';
import { type RouteAccess, routeAccessKey } from './route-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard on web and admin API routes. */
    caller?: WebCaller;
  }
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The global guard. Public routes pass, and `/v2` routes are authorized by their handler, which has
 * parsed the repository name. Every other route needs a signed-in user (or an admin). State-changing
 * requests that a browser authenticates on its own (cookie, forward-auth headers) must carry the CSRF
 * token.
 */ @Injectable()
export class AuthGuard implements CanActivate {
  /** Access rules by controller class and handler; decorators do not change once the app is built. */
  private readonly rules = new WeakMap<object, Map<object, RouteAccess>>();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
    @Inject(CsrfTokens) private readonly csrf: CsrfTokens,
  ) {}

  /**
   * Lets a `/v2` request through at once, without a promise: it is the most frequent kind, and its
   * handler does the authorization.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rule = this.ruleOf(context);

    return rule === 'registry' ? true : this.check(rule, context.switchToHttp().getRequest<FastifyRequest>());
  }

  /** Returns the access rule of the route, read from its decorators once per handler. */
  private ruleOf(context: ExecutionContext): RouteAccess {
    const controller = context.getClass();
    const handler = context.getHandler();
    let rules = this.rules.get(controller);

    if (rules === undefined) {
      rules = new Map();
      this.rules.set(controller, rules);
    }

    let rule = rules.get(handler);

    if (rule === undefined) {
      rule =
        this.reflector.getAllAndOverride<RouteAccess | undefined>(routeAccessKey, [handler, controller]) ??
        'signed-in';
      rules.set(handler, rule);
    }

    return rule;
  }

  private async check(rule: RouteAccess, request: FastifyRequest): Promise<boolean> {
    if (!this.access.enabled) {
      request.caller = { subject: { kind: 'anonymous', inAnonymousNetwork: true } };

      return true;
    }

    const caller = await this.authenticator.webCaller(request);

    request.caller = caller;

    if (rule === 'public') {
      return true;
    }

    if (caller.subject.kind === 'anonymous') {
      throw new AuthenticationRequiredError('sign in first');
    }

    if (!safeMethods.has(request.method) && !this.csrf.check(request, caller)) {
      throw new AccessDeniedError('missing or wrong X-CSRF-Token header; read it from GET /auth/session');
    }

    if (rule === 'admin' && !this.access.policy.isAdmin(caller.subject)) {
      throw new AccessDeniedError('only registry administrators may do this');
    }

    return true;
  }
}
