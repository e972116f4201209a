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
  Put,
  Req,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiNotFoundResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

import { callerName } from '../auth/subject.js';
import { Digest } from '../common/digest.js';
import type { TrustKind } from '../metadata/stores/signing.store.js';
import { SigningStore } from '../metadata/stores/signing.store.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import { isArtifactManifest } from '../common/artifact-manifests.js';
import { SignaturePolicy } from '../signing/signature-policy.js';
import { SignatureVerifier } from '../signing/signature-verifier.service.js';
import { SigningTrust, TrustMaterialError, type TrustSnapshot } from '../signing/signing-trust.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { ManifestParams } from './admin-requests.js';
import { ErrorBody } from './admin-responses.js';
import { RepositoryPermissions } from './repository-permissions.js';
import { CertificateParams, KeyParams, SignatureVerdictView, TrustView } from './signing-views.js';

const pemExample =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...\n-----END PUBLIC KEY-----\n';

/**
 * The trust signatures are checked against. Administrators read it, upload and remove public keys,
 * CA certificates and the notation trust policy, and re-read the files the config names. Each change
 * takes effect at once: the signatures of every signed image are checked again before the response.
 */
@AdminApi('signing', { adminOnly: true })
@ApiOkResponse({ type: TrustView, description: 'The trust after the change.' })
@Controller('api/v1/signing')
export class SigningTrustController {
  constructor(
    @Inject(SigningTrust) private readonly trust: SigningTrust,
    @Inject(SignatureVerifier) private readonly verifier: SignatureVerifier,
  ) {}

  @Get('trust')
  @ApiOperation({ summary: 'Show the public keys, trust stores, trust policy and keyless identities in use' })
  show(): TrustView {
    return this.trust.current().view;
  }

  @Post('trust/reload')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Read the config file's key, certificate and policy files again, and check every signed image again",
  })
  reload(): Promise<TrustView> {
    return this.change(() => this.trust.load());
  }

  @Put('cosign/keys/:name')
  @ApiOperation({ summary: 'Add or replace a public key (ECDSA, RSA or Ed25519, PEM) for cosign signatures' })
  @ApiConsumes('application/x-pem-file', 'application/json')
  @ApiBody({ schema: { type: 'string', example: pemExample } })
  putKey(
    @Req() request: FastifyRequest,
    @Param() params: KeyParams,
    @Body() body: unknown,
  ): Promise<TrustView> {
    return this.change(() =>
      this.trust.putKey(params.name, pemOf(body), callerName(request.caller?.subject)),
    );
  }

  @Delete('cosign/keys/:name')
  @ApiOperation({ summary: 'Remove an uploaded public key' })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No uploaded key has that name.' })
  removeKey(@Param() params: KeyParams): Promise<TrustView> {
    return this.removal('cosign-key', params.name, `no uploaded key is named ${params.name}`);
  }

  @Put('notation/trust-stores/:store/certificates/:name')
  @ApiOperation({
    summary: 'Add or replace a CA or signing certificate (PEM, one or more) in a notation trust store',
  })
  @ApiConsumes('application/x-pem-file', 'application/json')
  @ApiBody({
    schema: { type: 'string', example: '-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n' },
  })
  putCertificate(
    @Req() request: FastifyRequest,
    @Param() params: CertificateParams,
    @Body() body: unknown,
  ): Promise<TrustView> {
    return this.change(() =>
      this.trust.putCertificate(params.store, params.name, pemOf(body), callerName(request.caller?.subject)),
    );
  }

  @Delete('notation/trust-stores/:store/certificates/:name')
  @ApiOperation({ summary: 'Remove an uploaded certificate from a trust store' })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description: 'No uploaded certificate has that name in that store.',
  })
  removeCertificate(@Param() params: CertificateParams): Promise<TrustView> {
    return this.removal(
      'notation-certificate',
      `${params.store}/${params.name}`,
      `no uploaded certificate is named ${params.name} in ${params.store}`,
    );
  }

  @Put('notation/trust-policy')
  @ApiOperation({ summary: "Replace the notation trust policy (notation's trustpolicy.json, version 1.0)" })
  @ApiBody({ schema: { type: 'object', additionalProperties: true } })
  putPolicy(@Req() request: FastifyRequest, @Body() body: unknown): Promise<TrustView> {
    if (typeof body !== 'object' || body === null) {
      throw new BadRequestException('send the trust policy as a JSON document');
    }

    return this.change(() => this.trust.putPolicy(body, callerName(request.caller?.subject)));
  }

  @Delete('notation/trust-policy')
  @ApiOperation({
    summary: 'Remove the uploaded trust policy; the one the config names, or the default, applies again',
  })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No trust policy was uploaded.' })
  removePolicy(): Promise<TrustView> {
    return this.removal('notation-policy', 'policy', 'no trust policy was uploaded');
  }

  private async removal(kind: TrustKind, name: string, missing: string): Promise<TrustView> {
    return this.change(async () => {
      const snapshot = await this.trust.remove(kind, name);

      if (snapshot === undefined) {
        throw new NotFoundException(missing);
      }

      return snapshot;
    });
  }

  /** Applies a change of trust, then checks every signed image again before responding. */
  private async change(apply: () => Promise<TrustSnapshot>): Promise<TrustView> {
    let snapshot: TrustSnapshot;

    try {
      snapshot = await apply();
    } catch (error) {
      if (error instanceof TrustMaterialError) {
        throw new BadRequestException(error.message);
      }

      throw error;
    }

    await this.verifier.reevaluateAll();

    return snapshot.view;
  }
}

/** An image's signatures and what checking them showed, for anyone who may read the repository. */
@AdminApi('signing')
@Controller('api/v1')
export class SignaturesController {
  constructor(
    @Inject(SignatureVerifier) private readonly verifier: SignatureVerifier,
    @Inject(SignaturePolicy) private readonly policy: SignaturePolicy,
    @Inject(SigningStore) private readonly store: SigningStore,
    @Inject(RepositoryPermissions) private readonly permissions: RepositoryPermissions,
    @Inject(ContentReader) private readonly content: ContentReader,
  ) {}

  @Get('repositories/:name/manifests/:digest/signatures')
  @ApiOperation({ summary: "An image's signatures, each with its outcome, and the image's verdict" })
  @ApiOkResponse({ type: SignatureVerdictView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'The caller may not read the repository.' })
  async signatures(
    @Req() request: FastifyRequest,
    @Param() params: ManifestParams,
  ): Promise<SignatureVerdictView> {
    const repository = this.permissions.storedName(params.name);

    this.permissions.assertReadable(this.permissions.subjectOf(request), repository);

    const digest = Digest.parse(params.digest);
    const verdict = this.verifier.verdict(repository, digest.toString());
    const artifact = isArtifactManifest((await this.content.storedManifest(repository, digest))?.bytes);

    return {
      ...verdict,
      verifiedThroughIndex: this.store.hasVerifiedParent(repository, digest.toString()),
      required: this.policy.requires(repository) && !artifact,
      artifact,
    };
  }
}

/** Reads the PEM text of an upload: the body as sent with application/x-pem-file, or JSON `{"pem": …}`. */
function pemOf(body: unknown): string {
  if (typeof body === 'string' && body.length > 0) {
    return body;
  }

  if (typeof body === 'object' && body !== null && typeof (body as { pem?: unknown }).pem === 'string') {
    return (body as { pem: string }).pem;
  }

  throw new BadRequestException(
    'send the PEM text with Content-Type application/x-pem-file, or as JSON {"pem": "..."}',
  );
}
