import {
  All,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiExcludeEndpoint,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

import { AuditLog } from '../auth/audit-log.js';
import { subjectName } from '../auth/subject.js';
import { Digest } from '../common/digest.js';
import type { Reference } from '../common/reference.js';
import { ManifestService } from '../distribution/services/manifest.service.js';
import { AdminApi } from './admin-api.decorator.js';
import {
  ListRepositoriesQuery,
  ManifestParams,
  PageQuery,
  RepositoryParams,
  TagParams,
} from './admin-requests.js';
import {
  ErrorBody,
  ManifestDetailsView,
  RepositoryListView,
  RepositoryView,
  TagListView,
} from './admin-responses.js';
import { ManifestDetails } from './manifest-details.service.js';
import { RepositoryListing } from './repository-listing.service.js';
import { RepositoryPermissions } from './repository-permissions.js';

/**
 * `/api/v1/repositories`: browse repositories, tags and images, and delete tags and manifests. Names
 * contain `/`, which an OpenAPI path parameter cannot, so the name is one URL-encoded path segment:
 * `/api/v1/repositories/team%2Fapp/tags`. Every route applies the `/v2` policy: `read` to look and
 * `delete` to delete, and a repository the caller may not read is a 404.
 */
@AdminApi('repositories')
@ApiBadRequestResponse({ type: ErrorBody, description: 'A parameter is invalid; the message names it.' })
@Controller('api/v1/repositories')
export class RepositoriesController {
  constructor(
    @Inject(RepositoryListing) private readonly listing: RepositoryListing,
    @Inject(ManifestDetails) private readonly details: ManifestDetails,
    @Inject(RepositoryPermissions) private readonly permissions: RepositoryPermissions,
    @Inject(ManifestService) private readonly manifests: ManifestService,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the repositories the caller may read, with sizes and push and pull times' })
  @ApiOkResponse({ type: RepositoryListView })
  list(@Req() request: FastifyRequest, @Query() query: ListRepositoriesQuery): Promise<RepositoryListView> {
    return this.listing.repositories(this.permissions.subjectOf(request), query);
  }

  @Get(':name')
  @ApiOperation({
    summary: 'Describe one repository: kind, size, tag and manifest counts, push and pull times',
  })
  @ApiOkResponse({ type: RepositoryView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such repository, or the caller may not read it.' })
  repository(@Req() request: FastifyRequest, @Param() params: RepositoryParams): Promise<RepositoryView> {
    return this.listing.repository(this.permissions.subjectOf(request), params.name);
  }

  @Get(':name/tags')
  @ApiOperation({ summary: "List a repository's tags in name order, with sizes and platforms" })
  @ApiOkResponse({ type: TagListView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such repository, or the caller may not read it.' })
  tags(
    @Req() request: FastifyRequest,
    @Param() params: RepositoryParams,
    @Query() query: PageQuery,
  ): Promise<TagListView> {
    return this.listing.tags(this.permissions.subjectOf(request), params.name, query);
  }

  @Get(':name/manifests/:digest')
  @ApiOperation({ summary: 'Describe an image or index: platforms, config, history, layers and referrers' })
  @ApiOkResponse({ type: ManifestDetailsView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such manifest, or the caller may not read it.' })
  manifest(@Req() request: FastifyRequest, @Param() params: ManifestParams): Promise<ManifestDetailsView> {
    return this.details.describe(this.permissions.subjectOf(request), params.name, params.digest);
  }

  @Delete(':name/tags/:tag')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a tag; the manifest stays and can still be pulled by digest' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiForbiddenResponse({
    type: ErrorBody,
    description: 'No delete right, or a read-only cached repository.',
  })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description: 'No such tag, or the caller may not read the repository.',
  })
  async deleteTag(@Req() request: FastifyRequest, @Param() params: TagParams): Promise<void> {
    await this.delete(request, params.name, params.tag, { tag: params.tag });
  }

  @Delete(':name/manifests/:digest')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a manifest and every tag that points to it' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiForbiddenResponse({
    type: ErrorBody,
    description: 'No delete right, or a read-only cached repository.',
  })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such manifest, or the caller may not read it.' })
  async deleteManifest(@Req() request: FastifyRequest, @Param() params: ManifestParams): Promise<void> {
    await this.delete(request, params.name, params.digest, { digest: Digest.parse(params.digest) });
  }

  /** Returns 404 for paths that no route above matches, most often a name whose "/" is not encoded. */
  @All('*')
  @ApiExcludeEndpoint()
  unmatched(): never {
    throw new NotFoundException(
      'no admin API route at this path; encode the "/" in repository names as %2F, as in /api/v1/repositories/team%2Fapp/tags',
    );
  }

  private async delete(
    request: FastifyRequest,
    name: string,
    referenceText: string,
    reference: Reference,
  ): Promise<void> {
    const subject = this.permissions.subjectOf(request);
    const repository = this.permissions.storedName(name);

    this.permissions.assertDeletable(subject, repository);
    await this.manifests.delete(repository, reference);
    this.audit.record('delete', {
      user: subjectName(subject),
      address: request.ip,
      requestId: request.id,
      repository,
      reference: referenceText,
      via: 'admin-api',
    });
  }
}
