import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import { type SessionRecord, SessionStore } from '../metadata/stores/session.store.js';
import { sha256Hex } from './api-key-format.js';

export const sessionCookie = 'wharf_session';

/** A sign-in must come back from the provider within this time; older pending sign-ins are deleted. */
export const pendingLoginMaxAgeMs = 10 * 60 * 1000;

export interface NewSession {
  username: string;
  groups: string[];
  method: 'htpasswd' | 'api-key' | 'oidc';
  idToken?: string;
}

/**
 * Browser sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure when the external URL is
 * https), and its SHA-256 with the user's name and groups in the database.
 */
@Injectable()
export class SessionService {
  private readonly ttlMs: number;
  private readonly secure: boolean;

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @Inject(SessionStore) private readonly store: SessionStore,
  ) {
    this.ttlMs = durationMs(config.auth?.session.ttl ?? '12h');
    this.secure = config.http.externalUrl?.startsWith('https:') ?? false;
  }

  /**
   * Starts a session and sets its cookie on the reply, ending the browser's previous session if it
   * sent one. Expired sessions of every user are deleted on the way.
   */
  async create(request: FastifyRequest, reply: FastifyReply, session: NewSession): Promise<SessionRecord> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const record: SessionRecord = {
      idHash: sha256Hex(id),
      username: session.username,
      groups: session.groups,
      method: session.method,
      csrfToken: randomBytes(24).toString('base64url'),
      idToken: session.idToken ?? null,
      createdAt: now,
      expiresAt: now + this.ttlMs,
    };

    const previous = await this.find(request);

    if (previous) {
      await this.store.delete(previous.idHash);
    }

    await this.store.deleteExpired(now, now - pendingLoginMaxAgeMs);
    await this.store.create(record);
    reply.header('Set-Cookie', this.cookie(id, Math.floor(this.ttlMs / 1000)));

    return record;
  }

  /** Finds the session the request's cookie names; undefined when it is unknown or expired. */
  async find(request: FastifyRequest): Promise<SessionRecord | undefined> {
    const id = readCookie(request.headers.cookie, sessionCookie);

    return id === undefined ? undefined : this.store.find(sha256Hex(id), Date.now());
  }

  /** Ends the request's session, if any, and clears the cookie. */
  async destroy(request: FastifyRequest, reply: FastifyReply): Promise<SessionRecord | undefined> {
    const session = await this.find(request);

    if (session) {
      await this.store.delete(session.idHash);
    }

    reply.header('Set-Cookie', this.cookie('', 0));

    return session;
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.secure ? '; Secure' : '';

    return `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
  }
}

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');

    if (key === name) {
      return value.join('=');
    }
  }

  return undefined;
}

/** Compares two secrets in constant time. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);

  return left.length === right.length && timingSafeEqual(left, right);
}

/** Derives a CSRF token bound to a user, for requests authenticated by forward-auth headers. */
export function userCsrfToken(secret: Buffer, username: string): string {
  return createHmac('sha256', secret).update(`csrf\u0000${username}`).digest('base64url');
}
