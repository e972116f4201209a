import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, ValidateBy } from 'class-validator';

import { Digest } from '../common/digest.js';
import type { ScanSummaryRow } from '../metadata/stores/scan-result.store.js';
import { summarize } from '../scanning/scan-summary.js';
import { digestProblem, IsRepositoryName } from './admin-requests.js';
import { PlatformView } from './admin-responses.js';

const levels = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'];
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export class SeverityCountsView {
  @ApiProperty() CRITICAL: number;
  @ApiProperty() HIGH: number;
  @ApiProperty() MEDIUM: number;
  @ApiProperty() LOW: number;
  @ApiProperty() NONE: number;
  @ApiProperty() UNKNOWN: number;
}

/** Findings of a tag's images or a repository's tagged images added up, for badges. */
export class VulnerabilitySummaryView {
  @ApiProperty({ description: 'Images with a finished scan.' })
  scanned: number;

  @ApiProperty({ description: 'Images whose scan failed.' })
  failed: number;

  @ApiProperty({
    description: 'Scanned images with a layer that could not be read, so that findings may be missing.',
  })
  incomplete: number;

  @ApiProperty({ enum: levels, nullable: true, type: String })
  highest: string | null;

  @ApiProperty({ type: () => SeverityCountsView })
  counts: SeverityCountsView;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  scannedAt: string | null;
}

export class FindingPackageView {
  @ApiProperty({ example: 'dpkg' }) type: string;
  @ApiProperty({ example: 'libssl3' }) name: string;
  @ApiProperty({ example: 'Debian:12' }) ecosystem: string;
  @ApiProperty() purl: string;
  @ApiProperty({ description: 'The file in the image that lists the package.' }) location: string;
  @ApiProperty({ description: 'Digest of the layer that wrote that file.' }) layer: string;

  @ApiPropertyOptional({ description: 'The source package the advisory names, when it differs.' })
  sourceName?: string;
}

export class FindingView {
  @ApiProperty({ example: 'DSA-5532-1' }) id: string;
  @ApiProperty({ type: [String], example: ['CVE-2023-5363'] }) aliases: string[];
  @ApiProperty() summary: string;
  @ApiProperty({ enum: levels }) severity: string;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'CVSS base score, when a CVSS vector gave the severity.',
  })
  score: number | null;

  @ApiProperty({ type: () => FindingPackageView }) package: FindingPackageView;
  @ApiProperty() installedVersion: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The lowest version above the installed one that fixes it.',
  })
  fixedVersion: string | null;

  @ApiProperty({ description: 'Digest of the image (platform) the finding is in.' })
  image: string;
}

export class ScanProgressView {
  @ApiProperty() repository: string;
  @ApiProperty() digest: string;
  @ApiProperty({ enum: ['push', 'cache', 'database', 'request', 'backfill'] }) reason: string;
  @ApiProperty({ enum: ['queued', 'scanning', 'matching', 'done', 'failed', 'skipped'] }) state: string;
  @ApiProperty() layers: number;
  @ApiProperty() layersRead: number;
  @ApiProperty() bytes: number;
  @ApiProperty() bytesRead: number;
  @ApiProperty({ format: 'date-time' }) queuedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) message: string | null;
}

export class OperatingSystemView {
  @ApiProperty({ example: 'debian' }) id: string;
  @ApiProperty({ type: String, nullable: true, example: '12' }) versionId: string | null;
  @ApiProperty({ type: String, nullable: true }) prettyName: string | null;
}

/** The scan of one image (one platform). */
export class ImageScanView {
  @ApiProperty() digest: string;

  @ApiProperty({
    enum: ['not-scanned', 'queued', 'scanning', 'matching', 'done', 'failed', 'skipped'],
    description:
      '`skipped`: the manifest is no container image (an artifact such as an SBOM or a signature).',
  })
  status: string;

  @ApiProperty({
    description: 'False when a layer could not be read (see warnings), so that findings may be missing.',
  })
  complete: boolean;

  @ApiProperty({ type: () => PlatformView, nullable: true }) platform: PlatformView | null;
  @ApiProperty({ type: () => OperatingSystemView, nullable: true }) os: OperatingSystemView | null;
  @ApiProperty() packageCount: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) scannedAt: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'The vulnerability database generation matched against.',
  })
  databaseGeneration: number | null;

  @ApiProperty({ type: String, nullable: true }) error: string | null;

  @ApiProperty({ type: [String], description: 'What the scan could not read or judge, with the reason.' })
  warnings: string[];

  @ApiProperty({ type: () => ScanProgressView, nullable: true }) progress: ScanProgressView | null;
}

export class ImageVulnerabilitiesView {
  @ApiProperty() repository: string;
  @ApiProperty() digest: string;

  @ApiProperty({ type: () => [ImageScanView], description: 'The image, or each child of an index.' })
  images: ImageScanView[];

  @ApiProperty({ type: () => VulnerabilitySummaryView }) summary: VulnerabilitySummaryView;
  @ApiProperty({ type: () => [FindingView] }) findings: FindingView[];
}

export class AffectedImageView {
  @ApiProperty() repository: string;
  @ApiProperty() digest: string;
  @ApiProperty({ type: [String] }) tags: string[];
}

export class AffectedImagesView {
  @ApiProperty({ example: 'CVE-2023-5363' }) advisory: string;
  @ApiProperty({ type: () => [AffectedImageView] }) items: AffectedImageView[];
}

export class ScanStartedView {
  @ApiProperty() repository: string;
  @ApiProperty({ description: 'The digest the reference resolved to.' }) digest: string;
  @ApiProperty({ type: () => [ScanProgressView] }) images: ScanProgressView[];
}

export class StartScanRequest {
  @ApiProperty({ example: 'team/app' })
  @IsRepositoryName()
  repository: string;

  @ApiProperty({ example: 'v1.2.3', description: 'A tag, or a digest such as sha256:4c0f…' })
  @ValidateBy({
    name: 'isReference',
    validator: {
      validate: (value) =>
        typeof value === 'string' && (value.includes(':') ? Digest.isValid(value) : tagPattern.test(value)),
      defaultMessage: (args) =>
        typeof args?.value === 'string' && args.value.includes(':')
          ? `reference is invalid: ${digestProblem(args.value)}`
          : 'reference must be a tag (letters, digits, "_", "." and "-", at most 128) or a digest',
    },
  })
  reference: string;
}

export class SbomQuery {
  @ApiPropertyOptional({ enum: ['spdx', 'cyclonedx'], default: 'spdx' })
  @IsOptional()
  @IsIn(['spdx', 'cyclonedx'], { message: 'format must be spdx or cyclonedx' })
  format?: 'spdx' | 'cyclonedx';
}

/** Adds up scan rows into the summary view that badges show. */
export function summaryView(rows: readonly ScanSummaryRow[]): VulnerabilitySummaryView {
  const summary = summarize(rows);

  return {
    ...summary,
    counts: { ...summary.counts },
    scannedAt: summary.scannedAt === null ? null : new Date(summary.scannedAt).toISOString(),
  };
}
