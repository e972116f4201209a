import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { Digest } from '../common/digest.js';
import { isIndexMediaType } from '../common/media-types.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import { RegistryReader } from '../distribution/services/registry-reader.js';
import { ScanResultStore } from '../metadata/stores/scan-result.store.js';
import {
  ImageScanner,
  isComplete,
  type ScanProgress,
  type StoredInventory,
} from '../scanning/image-scanner.service.js';
import type { Finding } from '../scanning/matcher.js';
import { sbomArtifactTypes } from '../scanning/sbom/sbom-artifact.js';
import { SbomPublisher } from '../scanning/sbom/sbom-publisher.js';
import { AdminApi } from './admin-api.decorator.js';
import { ManifestParams } from './admin-requests.js';
import { ErrorBody } from './admin-responses.js';
import { RepositoryPermissions } from './repository-permissions.js';
import { isoTime } from './repository-listing.service.js';
import {
  AffectedImagesView,
  ImageScanView,
  ImageVulnerabilitiesView,
  SbomQuery,
  ScanProgressView,
  ScanStartedView,
  StartScanRequest,
  summaryView,
} from './scan-views.js';

const maxAffectedImages = 1000;

/**
 * Vulnerability scans: start one, follow it, read an image's findings and SBOM, and find the images
 * an advisory affects. Reading follows the `/v2` policy: a repository the caller may not read is a 404.
 */
@AdminApi('vulnerabilities')
@ApiBadRequestResponse({ type: ErrorBody, description: 'A parameter is invalid; the message names it.' })
@Controller('api/v1')
export class ScansController {
  constructor(
    @Inject(ImageScanner) private readonly scanner: ImageScanner,
    @Inject(ScanResultStore) private readonly results: ScanResultStore,
    @Inject(ContentReader) private readonly content: ContentReader,
    @Inject(RegistryReader) private readonly registry: RegistryReader,
    @Inject(SbomPublisher) private readonly sboms: SbomPublisher,
    @Inject(RepositoryPermissions) private readonly permissions: RepositoryPermissions,
  ) {}

  @Post('scans')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Scan an image now, ahead of queued scans; follow it on its vulnerabilities route',
  })
  @ApiAcceptedResponse({ type: ScanStartedView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such image, or the caller may not read it.' })
  async start(@Req() request: FastifyRequest, @Body() body: StartScanRequest): Promise<ScanStartedView> {
    if (!this.scanner.enabled) {
      throw new BadRequestException('scanning is turned off (scanning.enabled: false)');
    }

    const repository = this.readable(request, body.repository);
    const reference = Digest.isValid(body.reference)
      ? { digest: Digest.parse(body.reference) }
      : { tag: body.reference };
    const manifest = await this.registry.getManifest(repository, reference, false);
    const images = await this.scanner.request(repository, manifest.digest, 'request');

    return { repository, digest: manifest.digest, images: images.map(progressView) };
  }

  @Get('repositories/:name/manifests/:digest/vulnerabilities')
  @ApiOperation({
    summary: 'The findings of an image, or of every image of an index, with scan state and warnings',
  })
  @ApiOkResponse({ type: ImageVulnerabilitiesView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such manifest, or the caller may not read it.' })
  async vulnerabilities(
    @Req() request: FastifyRequest,
    @Param() params: ManifestParams,
  ): Promise<ImageVulnerabilitiesView> {
    const repository = this.readable(request, params.name);
    const images = await this.imagesOf(repository, params.digest);
    const views: ImageScanView[] = [];
    const findings: ImageVulnerabilitiesView['findings'] = [];
    const rows = [];

    for (const digest of images) {
      const row = await this.results.get(digest);
      const progress = this.scanner.status(repository, digest);
      const inventory = row?.inventory == null ? null : (JSON.parse(row.inventory) as StoredInventory);

      if (row !== null) {
        rows.push({
          digest,
          status: row.status,
          summary: row.summary,
          highest: row.highest,
          scannedAt: row.scannedAt,
        });
        findings.push(
          ...(JSON.parse(row.findings) as Finding[]).map((finding) => ({ ...finding, image: digest })),
        );
      }

      views.push({
        digest,
        status: statusOf(row?.status, progress),
        complete: inventory === null || isComplete(inventory),
        platform: inventory?.platform ?? null,
        os: inventory?.os ?? null,
        packageCount: inventory?.packages.length ?? 0,
        scannedAt: row === null ? null : isoTime(row.scannedAt),
        databaseGeneration: row?.databaseGeneration ?? null,
        error: row?.error ?? null,
        warnings: inventory === null ? [] : warningTexts(inventory),
        progress: progress === undefined ? null : progressView(progress),
      });
    }

    return { repository, digest: params.digest, images: views, summary: summaryView(rows), findings };
  }

  @Get('repositories/:name/manifests/:digest/sbom')
  @ApiOperation({ summary: "An image's SBOM as SPDX 2.3 or CycloneDX 1.5 JSON" })
  @ApiProduces(sbomArtifactTypes.spdx, sbomArtifactTypes.cyclonedx)
  @ApiOkResponse({ description: 'The SBOM document.' })
  @ApiNotFoundResponse({
    type: ErrorBody,
    description: 'No such image, no scan yet, or the caller may not read it.',
  })
  async sbom(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param() params: ManifestParams,
    @Query() query: SbomQuery,
  ): Promise<void> {
    const repository = this.readable(request, params.name);
    const manifest = await this.content.manifest(repository, Digest.parse(params.digest));

    if (isIndexMediaType(manifest.mediaType)) {
      throw new BadRequestException(
        `${params.digest} is an index; ask for the SBOM of one of its images (see its vulnerabilities route)`,
      );
    }

    const row = await this.results.get(params.digest);

    if (row?.inventory == null) {
      throw new NotFoundException(
        `no inventory of ${params.digest} yet: the image was not scanned, or its scan failed`,
      );
    }

    const format = query.format ?? 'spdx';
    const document = this.sboms.document(
      format,
      repository,
      { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size },
      JSON.parse(row.inventory) as StoredInventory,
      new Date(row.inventoriedAt ?? row.scannedAt),
    );

    await reply
      .status(200)
      .header('Content-Type', sbomArtifactTypes[format])
      .send(JSON.stringify(document, null, 2));
  }

  @Get('vulnerabilities/:id/images')
  @ApiOperation({ summary: 'The images whose findings name an advisory id or alias (such as a CVE)' })
  @ApiOkResponse({ type: AffectedImagesView })
  affected(@Req() request: FastifyRequest, @Param('id') id: string): AffectedImagesView {
    const subject = this.permissions.subjectOf(request);
    const items = this.results
      .affectedImages(id, maxAffectedImages)
      .filter((item) => this.permissions.mayRead(subject, item.repository));

    return { advisory: id, items };
  }

  /** Returns the stored name of a repository the caller may read; 404 otherwise. */
  private readable(request: FastifyRequest, name: string): string {
    const repository = this.permissions.storedName(name);

    this.permissions.assertReadable(this.permissions.subjectOf(request), repository);

    return repository;
  }

  /** Returns the image's own digest, or the digests of an index's children. */
  private async imagesOf(repository: string, digest: string): Promise<string[]> {
    const manifest = await this.content.manifest(repository, Digest.parse(digest));

    if (!isIndexMediaType(manifest.mediaType)) {
      return [manifest.digest];
    }

    const body = JSON.parse((manifest.bytes ?? Buffer.alloc(0)).toString('utf8')) as {
      manifests?: { digest?: unknown }[];
    };

    return (body.manifests ?? []).flatMap((child) =>
      typeof child.digest === 'string' ? [child.digest] : [],
    );
  }
}

function statusOf(stored: string | undefined, progress: ScanProgress | undefined): string {
  if (progress !== undefined && progress.finishedAt === null) {
    return progress.state;
  }

  if (progress?.state === 'skipped') {
    return 'skipped';
  }

  return stored ?? 'not-scanned';
}

function warningTexts(inventory: StoredInventory): string[] {
  return [
    ...inventory.warnings.map((warning) =>
      [warning.layer, warning.path]
        .filter((part) => part !== undefined)
        .concat(warning.reason)
        .join(': '),
    ),
    ...(inventory.matchWarnings ?? []),
  ];
}

function progressView(progress: ScanProgress): ScanProgressView {
  return {
    ...progress,
    queuedAt: isoTime(progress.queuedAt),
    startedAt: progress.startedAt === null ? null : isoTime(progress.startedAt),
    finishedAt: progress.finishedAt === null ? null : isoTime(progress.finishedAt),
  };
}
