import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import { IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import type { FastifyRequest } from 'fastify';

import { AuthenticationRequiredError } from '../common/domain-errors.js';
import { ApiKeyStore, type ApiKeyRecord } from '../metadata/stores/api-key.store.js';
import { UserStore } from '../metadata/stores/user.store.js';
import { apiKeyState, newApiKey, sha256Hex } from './api-key-format.js';
import { AuditLog } from './audit-log.js';
import { Credentials } from './credentials.js';

export class CreateApiKeyRequest {
  @MaxLength(100)
  @MinLength(1)
  @IsString()
  label: string;

  /** When the key stops working (ISO 8601); keys without it last until revoked. */
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

class KeyIdParam {
  @Matches(/^[0-9a-f]{16}$/, { message: 'id must be an API key id (16 hex digits)' })
  id: string;
}

/**
 * `/api/v1/apikeys`: the signed-in user's API keys. The secret is returned once, at creation; only its
 * hash is kept. A key works as the user's password for `docker login`, Basic requests and the token
 * service. Keys cannot create keys.
 */
@Controller('api/v1/apikeys')
export class ApiKeysController {
  constructor(
    @Inject(ApiKeyStore) private readonly keys: ApiKeyStore,
    @Inject(UserStore) private readonly users: UserStore,
    @Inject(Credentials) private readonly credentials: Credentials,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Post()
  async create(@Req() request: FastifyRequest, @Body() body: CreateApiKeyRequest) {
    const user = this.userOf(request);
    const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);

    if (user.method === 'api-key') {
      throw new AuthenticationRequiredError(
        'an API key cannot create API keys; sign in with a password or OIDC',
      );
    }

    if (expiresAt !== null && expiresAt <= Date.now()) {
      throw new BadRequestException('expiresAt must be in the future');
    }

    if (user.method === 'forward-auth') {
      // API-key requests take groups from the last sign-in; for forward auth that is now.
      await this.users.recordLogin(user.username, 'forward-auth', user.groups);
    }

    const key = newApiKey();
    const record = {
      id: key.id,
      username: user.username,
      label: body.label,
      secretHash: sha256Hex(key.secret),
      createdAt: Date.now(),
      expiresAt,
    };

    await this.keys.create(record);
    this.audit.record('api-key-create', {
      user: user.username,
      address: request.ip,
      requestId: request.id,
      keyId: key.id,
      label: body.label,
    });

    return { ...describeKey({ ...record, revokedAt: null, lastUsedAt: null }), secret: key.text };
  }

  @Get()
  async list(@Req() request: FastifyRequest) {
    const keys = await this.keys.listFor(this.userOf(request).username);

    return { keys: keys.map(describeKey) };
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Req() request: FastifyRequest, @Param() params: KeyIdParam): Promise<void> {
    const user = this.userOf(request);

    if (!(await this.keys.revoke(user.username, params.id))) {
      throw new NotFoundException(`you have no active API key with id ${params.id}`);
    }

    this.credentials.forgetVerified();
    this.audit.record('api-key-revoke', {
      user: user.username,
      address: request.ip,
      requestId: request.id,
      keyId: params.id,
    });
  }

  private userOf(request: FastifyRequest) {
    const subject = request.caller?.subject;

    if (subject?.kind !== 'user') {
      throw new AuthenticationRequiredError(
        'API keys belong to users; configure authentication and sign in first',
      );
    }

    return subject;
  }
}

/** Converts a key to its API form: everything but the secret's hash, with times in ISO 8601. */
function describeKey(key: ApiKeyRecord | Omit<ApiKeyRecord, 'secretHash'>) {
  return {
    id: key.id,
    label: key.label,
    state: apiKeyState(key, Date.now()),
    createdAt: new Date(key.createdAt).toISOString(),
    expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
    lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
  };
}
