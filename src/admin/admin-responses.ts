import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { VulnerabilitySummaryView } from './scan-views.js';
import { SignatureSummaryView } from './signing-views.js';

/**
 * Response shapes of the admin API, declared as classes so that the OpenAPI document describes them.
 * Times are ISO 8601 strings in UTC and sizes are bytes.
 */

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

export class ErrorEntry {
  @ApiProperty({ example: 'NOT_FOUND' })
  code: string;

  @ApiProperty({ example: 'repository name not known to registry' })
  message: string;
}

export class ErrorBody {
  @ApiProperty({ type: () => [ErrorEntry] })
  errors: ErrorEntry[];
}

export class RepositoryView {
  @ApiProperty({ example: 'team/app' })
  name: string;

  @ApiProperty({ enum: ['local', 'cached'], description: '`cached` for names under an upstream prefix.' })
  kind: 'local' | 'cached';

  @ApiProperty({ type: String, nullable: true, description: 'Upstream prefix of a cached repository.' })
  upstream: string | null;

  @ApiProperty({ description: 'Sum of the distinct blobs linked to the repository; manifests not included.' })
  size: number;

  @ApiProperty()
  tagCount: number;

  @ApiProperty()
  manifestCount: number;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Latest manifest or tag write.',
  })
  lastPushAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Latest pull of a manifest or blob; recorded for pull-through repositories only.',
  })
  lastPullAt: string | null;

  @ApiProperty({
    type: () => VulnerabilitySummaryView,
    nullable: true,
    description: "Findings of the repository's tagged images added up; null when none of them was scanned.",
  })
  vulnerabilities: VulnerabilitySummaryView | null;
}

export class RepositoryListView {
  @ApiProperty({ description: 'Matching repositories the caller may read, on all pages.' })
  total: number;

  @ApiProperty()
  page: number;

  @ApiProperty()
  pageSize: number;

  @ApiProperty({ type: () => [RepositoryView] })
  items: RepositoryView[];
}

export class PlatformView {
  @ApiProperty({ example: 'linux' })
  os: string;

  @ApiProperty({ example: 'arm64' })
  architecture: string;

  @ApiPropertyOptional({ example: 'v8' })
  variant?: string;

  @ApiPropertyOptional({ example: '10.0.20348.2340' })
  osVersion?: string;
}

export class TagView {
  @ApiProperty({ example: 'v1' })
  name: string;

  @ApiProperty()
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({ type: String, nullable: true })
  artifactType: string | null;

  @ApiProperty({
    description:
      'Manifest plus config and layers; for an index, the index plus its child manifests plus their distinct blobs.',
  })
  size: number;

  @ApiProperty({
    description: 'False when a child of an index is not stored here yet, so its layers are not counted.',
  })
  sizeComplete: boolean;

  @ApiProperty({
    type: () => [PlatformView],
    description: 'Platforms of an index, or the platform of an image whose config is stored here.',
  })
  platforms: PlatformView[];

  @ApiProperty({ format: 'date-time', description: 'When the tag was last pushed or moved.' })
  lastPushAt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the tagged manifest was last pulled; recorded for pull-through repositories only.',
  })
  lastPullAt: string | null;

  @ApiProperty({
    type: () => VulnerabilitySummaryView,
    nullable: true,
    description:
      'Findings of the tagged image, or of the images of a tagged index, added up; null when none was scanned.',
  })
  vulnerabilities: VulnerabilitySummaryView | null;

  @ApiProperty({
    type: () => SignatureSummaryView,
    description: "The verdict on the tagged manifest's signatures.",
  })
  signature: SignatureSummaryView;
}

export class TagListView {
  @ApiProperty()
  repository: string;

  @ApiProperty({
    description:
      'Whether the caller may delete tags and manifests here; false for a cached repository, which is read-only.',
  })
  canDelete: boolean;

  @ApiProperty()
  total: number;

  @ApiProperty()
  page: number;

  @ApiProperty()
  pageSize: number;

  @ApiProperty({ type: () => [TagView] })
  items: TagView[];
}

export class DescriptorView {
  @ApiProperty()
  mediaType: string;

  @ApiProperty()
  digest: string;

  @ApiProperty()
  size: number;

  @ApiPropertyOptional()
  artifactType?: string;

  @ApiPropertyOptional(stringMap)
  annotations?: Record<string, string>;
}

export class ChildManifestView extends DescriptorView {
  @ApiProperty({ type: () => PlatformView, nullable: true })
  platform: PlatformView | null;
}

export class HistoryView {
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  created: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'RUN apt-get install -y curl' })
  createdBy: string | null;

  @ApiProperty({ type: String, nullable: true })
  comment: string | null;

  @ApiProperty({ type: String, nullable: true })
  author: string | null;

  @ApiProperty()
  emptyLayer: boolean;
}

export class ImageConfigView extends DescriptorView {
  @ApiProperty({
    description:
      'False when the config is not an image config (an artifact), is too large to read, or is missing.',
  })
  parsed: boolean;

  @ApiProperty({ type: String, nullable: true })
  os: string | null;

  @ApiProperty({ type: String, nullable: true })
  architecture: string | null;

  @ApiProperty({ type: String, nullable: true })
  variant: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  created: string | null;

  @ApiProperty({ type: String, nullable: true })
  author: string | null;

  @ApiProperty({ type: [String] })
  env: string[];

  @ApiProperty(stringMap)
  labels: Record<string, string>;

  @ApiProperty({ type: [String], nullable: true })
  entrypoint: string[] | null;

  @ApiProperty({ type: [String], nullable: true })
  cmd: string[] | null;

  @ApiProperty({ type: String, nullable: true })
  workingDir: string | null;

  @ApiProperty({ type: String, nullable: true })
  user: string | null;

  @ApiProperty({ type: [String], example: ['8080/tcp'] })
  exposedPorts: string[];

  @ApiProperty({ type: () => [HistoryView] })
  history: HistoryView[];
}

export class ReferrerView {
  @ApiProperty()
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({ type: String, nullable: true })
  artifactType: string | null;

  @ApiProperty()
  size: number;

  @ApiProperty({ ...stringMap, nullable: true })
  annotations: Record<string, string> | null;
}

export class ManifestDetailsView {
  @ApiProperty()
  repository: string;

  @ApiProperty()
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({ type: String, nullable: true })
  artifactType: string | null;

  @ApiProperty({ description: 'Size of the manifest itself.' })
  size: number;

  @ApiProperty({ ...stringMap, nullable: true })
  annotations: Record<string, string> | null;

  @ApiProperty({
    type: () => DescriptorView,
    nullable: true,
    description: 'The manifest this one refers to.',
  })
  subject: DescriptorView | null;

  @ApiProperty({
    type: () => [ChildManifestView],
    description: 'Child manifests of an index; empty otherwise.',
  })
  manifests: ChildManifestView[];

  @ApiProperty({ type: () => ImageConfigView, nullable: true, description: 'Null for an index.' })
  config: ImageConfigView | null;

  @ApiProperty({ type: () => [DescriptorView], description: 'Layers of an image; empty for an index.' })
  layers: DescriptorView[];

  @ApiProperty({ type: () => [ReferrerView], description: 'Manifests whose subject is this one.' })
  referrers: ReferrerView[];
}

export class CacheStatisticsView {
  @ApiProperty({ description: 'Requests served from the cache.' })
  hits: number;

  @ApiProperty({ description: 'Requests fetched from the upstream.' })
  misses: number;

  @ApiProperty()
  bytesFetched: number;

  @ApiProperty()
  bytesServed: number;

  @ApiProperty()
  notFound: number;

  @ApiProperty()
  errors: number;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, example: { timeout: 2 } })
  errorsByKind: Record<string, number>;
}

export class UpstreamErrorView {
  @ApiProperty({ example: 'timeout' })
  kind: string;

  @ApiProperty({ format: 'date-time' })
  at: string;
}

export class UpstreamHealthView {
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Whether the latest request got a response other than 429 or 5xx; null before the first.',
  })
  reachable: boolean | null;

  @ApiProperty({ type: String, nullable: true, example: 'success' })
  lastResult: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastRequestAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Latest request that got a response other than 429 or 5xx.',
  })
  lastResponseAt: string | null;

  @ApiProperty({ type: () => UpstreamErrorView, nullable: true })
  lastError: UpstreamErrorView | null;
}

export class RateLimitView {
  @ApiProperty({ type: Number, nullable: true })
  limit: number | null;

  @ApiProperty()
  remaining: number;

  @ApiProperty({ type: Number, nullable: true })
  windowSeconds: number | null;

  @ApiProperty({ format: 'date-time' })
  observedAt: string;
}

export class UpstreamView {
  @ApiProperty({ example: 'docker' })
  prefix: string;

  @ApiProperty({ example: 'https://registry-1.docker.io' })
  url: string;

  @ApiProperty()
  dockerHub: boolean;

  @ApiProperty({ description: 'Repositories cached under the prefix.' })
  cachedRepositories: number;

  @ApiProperty({
    description:
      'Bytes the cache of this prefix stores: the sizes of the distinct blobs linked to its repositories ' +
      'plus the manifests stored in them (manifest bytes are stored as blobs too). Content shared by ' +
      'several repositories of the prefix counts once; content shared with other prefixes counts in each.',
  })
  storageBytes: number;

  @ApiProperty({ type: () => CacheStatisticsView })
  statistics: CacheStatisticsView;

  @ApiProperty({ type: () => UpstreamHealthView, description: 'Seen by this process since it started.' })
  status: UpstreamHealthView;

  @ApiProperty({
    type: () => RateLimitView,
    nullable: true,
    description: "The latest `ratelimit-remaining` header (Docker Hub's pull quota); null until one is seen.",
  })
  rateLimit: RateLimitView | null;
}

export class UpstreamListView {
  @ApiProperty({ type: () => [UpstreamView] })
  upstreams: UpstreamView[];
}

export class UpstreamSampleView {
  @ApiProperty({ format: 'date-time', description: 'Start of the sample interval the sample was taken in.' })
  at: string;

  @ApiProperty({ description: 'Requests served from the cache since the counters began.' })
  hits: number;

  @ApiProperty({ description: 'Requests fetched from the upstream since the counters began.' })
  misses: number;

  @ApiProperty()
  bytesFetched: number;

  @ApiProperty()
  bytesServed: number;

  @ApiProperty()
  notFound: number;

  @ApiProperty()
  errors: number;

  @ApiProperty({ description: 'Bytes the cache of the prefix stored at that time, as in `storageBytes`.' })
  storageBytes: number;
}

export class UpstreamHistoryEntryView {
  @ApiProperty({ example: 'docker' })
  prefix: string;

  @ApiProperty({
    type: () => [UpstreamSampleView],
    description: 'Oldest first, at most 300; empty when the range has no sample.',
  })
  samples: UpstreamSampleView[];
}

export class UpstreamHistoryView {
  @ApiProperty({ format: 'date-time' })
  from: string;

  @ApiProperty({ format: 'date-time' })
  to: string;

  @ApiProperty({
    description:
      'Spacing of the samples: `statistics.sampleInterval`, or a multiple of it when the range held ' +
      'more than 300 samples of an upstream and evenly spaced ones were kept.',
    example: 60,
  })
  intervalSeconds: number;

  @ApiProperty({ type: () => [UpstreamHistoryEntryView], description: 'Every configured upstream.' })
  upstreams: UpstreamHistoryEntryView[];
}

export class AuthFeaturesView {
  @ApiProperty()
  enabled: boolean;

  @ApiProperty()
  htpasswd: boolean;

  @ApiProperty()
  oidc: boolean;

  @ApiProperty()
  forwardAuth: boolean;

  @ApiProperty({ description: 'API keys and bearer tokens, available whenever authentication is on.' })
  apiKeys: boolean;
}

export class MetricsFeaturesView {
  @ApiProperty()
  enabled: boolean;

  @ApiProperty()
  port: number;
}

export class FeaturesView {
  @ApiProperty({ type: () => AuthFeaturesView })
  auth: AuthFeaturesView;

  @ApiProperty({ type: [String], example: ['docker', 'ghcr'] })
  upstreams: string[];

  @ApiProperty({ type: () => MetricsFeaturesView })
  metrics: MetricsFeaturesView;

  @ApiProperty({ enum: ['sqlite', 'postgres'] })
  database: 'sqlite' | 'postgres';
}

export class SystemView {
  @ApiProperty({ example: '0.1.0' })
  version: string;

  @ApiProperty({ type: () => FeaturesView })
  features: FeaturesView;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The effective configuration, with every password, secret and token value redacted.',
  })
  config: Record<string, unknown>;
}

export class ScrubHolderView {
  @ApiProperty({ example: 'team/app' })
  repository: string;

  @ApiProperty({ enum: ['local', 'cached'], description: '`cached` for a pull-through repository.' })
  kind: 'local' | 'cached';
}

export class ScrubProblemView {
  @ApiProperty()
  digest: string;

  @ApiProperty({
    enum: ['missing', 'corrupt', 'size'],
    description:
      '`missing`: the file is gone. `corrupt`: the bytes hash to `actualDigest`. `size`: the bytes are right but the recorded size differs.',
  })
  problem: 'missing' | 'corrupt' | 'size';

  @ApiProperty()
  recordedSize: number;

  @ApiProperty({ type: Number, nullable: true })
  actualSize: number | null;

  @ApiProperty({ type: String, nullable: true })
  actualDigest: string | null;

  @ApiProperty({
    type: () => [ScrubHolderView],
    description: 'Repositories that link the blob or store it as a manifest.',
  })
  holders: ScrubHolderView[];

  @ApiProperty({ description: 'Whether the broken file was moved to the quarantine directory.' })
  quarantined: boolean;

  @ApiProperty({
    description:
      'Whether a pull-through repository holds the blob, so the next pull fetches it again; a blob only local repositories hold is lost.',
  })
  recoverable: boolean;
}

export class ScrubReportView {
  @ApiProperty({ enum: ['running', 'finished', 'failed'] })
  state: 'running' | 'finished' | 'failed';

  @ApiProperty({ description: 'Who started the run: a user name, `anonymous`, or `schedule`.' })
  startedBy: string;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;

  @ApiProperty({ description: 'Blobs stored when the scrub started; 0 until they are counted.' })
  totalBlobs: number;

  @ApiProperty({ description: 'Their recorded bytes; 0 until they are counted.' })
  totalBytes: number;

  @ApiProperty()
  checkedBlobs: number;

  @ApiProperty()
  checkedBytes: number;

  @ApiProperty({ type: () => [ScrubProblemView] })
  problems: ScrubProblemView[];

  @ApiProperty({ type: String, nullable: true, description: 'Why a failed scrub stopped.' })
  error: string | null;
}

export class ScrubStatusView {
  @ApiProperty({ type: () => ScrubReportView, nullable: true, description: 'The scrub in progress.' })
  running: ScrubReportView | null;

  @ApiProperty({
    type: () => ScrubReportView,
    nullable: true,
    description: 'The last scrub that ended, kept across restarts.',
  })
  last: ScrubReportView | null;
}

export class GcRemovalsView {
  @ApiProperty()
  tags: number;

  @ApiProperty()
  manifests: number;

  @ApiProperty({ description: "Repositories' links to blobs that none of their manifests uses." })
  links: number;

  @ApiProperty()
  blobs: number;

  @ApiProperty({ description: 'Blob files without a row, such as those a crash left behind.' })
  files: number;

  @ApiProperty({ description: 'Bytes of the blobs and files deleted from disk.' })
  bytes: number;
}

export class GcQuotaView {
  @ApiProperty({ example: 'docker' })
  upstream: string;

  @ApiProperty({ description: "The upstream's `maxSize` in bytes." })
  maxSize: number;

  @ApiProperty({ description: 'Bytes the cache stored before eviction.' })
  sizeBefore: number;

  @ApiProperty({ description: 'Bytes the cache stores after eviction.' })
  sizeAfter: number;

  @ApiProperty()
  evictedImages: number;
}

export class GcDeletionView {
  @ApiProperty({ enum: ['tag', 'manifest', 'blob', 'file'] })
  kind: 'tag' | 'manifest' | 'blob' | 'file';

  @ApiProperty({ type: String, nullable: true })
  repository: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The tag deleted, or for a manifest the tags that went with it, comma-separated.',
  })
  tag: string | null;

  @ApiProperty()
  digest: string;

  @ApiProperty({ type: Number, nullable: true })
  size: number | null;

  @ApiProperty({
    enum: ['retention', 'untagged', 'orphaned-referrer', 'unreferenced', 'quota', 'orphaned-file'],
  })
  reason: string;
}

export class GcReportView {
  @ApiProperty({ enum: ['running', 'finished', 'failed'] })
  state: 'running' | 'finished' | 'failed';

  @ApiProperty({ description: 'A dry run deletes nothing and lists what a real run would delete.' })
  dryRun: boolean;

  @ApiProperty({ description: 'Who started the run: a user name, `anonymous`, or `schedule`.' })
  startedBy: string;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;

  @ApiProperty({ type: String, nullable: true, enum: ['retention', 'quotas', 'blobs', 'files'] })
  phase: 'retention' | 'quotas' | 'blobs' | 'files' | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  phaseStartedAt: string | null;

  @ApiProperty({ description: 'Repositories, images or blobs done in this phase.' })
  phaseDone: number;

  @ApiProperty({ description: 'Their number, or 0 when unknown.' })
  phaseTotal: number;

  @ApiProperty({ type: () => GcRemovalsView })
  removed: GcRemovalsView;

  @ApiProperty({ type: () => [GcQuotaView] })
  quotas: GcQuotaView[];

  @ApiProperty({ type: () => [GcDeletionView], description: 'The first 1,000 deletions.' })
  deletions: GcDeletionView[];

  @ApiProperty({ description: 'Deletions not listed in `deletions`.' })
  unlistedDeletions: number;

  @ApiProperty({ type: String, nullable: true, description: 'Why a failed run stopped.' })
  error: string | null;
}

export class GcStatusView {
  @ApiProperty({ type: () => GcReportView, nullable: true, description: 'The run in progress.' })
  running: GcReportView | null;

  @ApiProperty({
    type: () => GcReportView,
    nullable: true,
    description: 'The last run that ended, a real run or a dry run.',
  })
  last: GcReportView | null;

  @ApiProperty({
    type: () => GcReportView,
    nullable: true,
    description: 'The last real run, which a dry run since does not hide.',
  })
  lastRealRun: GcReportView | null;
}

export class VulnDbImportReportView {
  @ApiProperty({ example: 'upload by admin', description: 'A mirror URL, or `upload by <user>`.' })
  origin: string;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;

  @ApiProperty({ description: 'Records read, and files or lines that could not be read, stored or not.' })
  records: number;

  @ApiProperty()
  added: number;

  @ApiProperty({ description: 'Records stored before whose `modified` time or text changed.' })
  updated: number;

  @ApiProperty()
  unchanged: number;

  @ApiProperty({ description: 'Records not stored: malformed, too large, or naming no affected package.' })
  skipped: number;

  @ApiProperty({
    type: [String],
    description: 'The first 100 warnings, each naming the file, entry or line.',
  })
  warnings: string[];

  @ApiProperty({ description: 'Warnings not listed in `warnings`.' })
  moreWarnings: number;

  @ApiProperty({ description: 'The database generation after the import.' })
  generation: number;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the import stopped early; the records stored until then stay.',
  })
  error: string | null;
}

export class VulnDbMirrorRefreshView {
  @ApiProperty({ enum: ['running', 'finished', 'failed'] })
  state: 'running' | 'finished' | 'failed';

  @ApiProperty({ description: 'Who started the refresh: a user name, `anonymous`, or `schedule`.' })
  startedBy: string;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why a failed refresh stopped.' })
  error: string | null;

  @ApiProperty({ description: 'The mirror URL, without any user name or password.' })
  url: string;

  @ApiProperty({
    description: 'True when the mirror responded with 304 Not Modified, so nothing was imported.',
  })
  notModified: boolean;

  @ApiProperty({ description: 'Bytes downloaded.' })
  bytes: number;

  @ApiProperty({ type: () => VulnDbImportReportView, nullable: true })
  import: VulnDbImportReportView | null;
}

export class VulnDbMirrorView {
  @ApiProperty({ description: 'The mirror URL, without any user name or password.' })
  url: string;

  @ApiProperty({ example: '24h' })
  interval: string;

  @ApiProperty({
    type: () => VulnDbMirrorRefreshView,
    nullable: true,
    description: 'The refresh in progress.',
  })
  running: VulnDbMirrorRefreshView | null;

  @ApiProperty({
    type: () => VulnDbMirrorRefreshView,
    nullable: true,
    description: 'The last refresh that ended.',
  })
  last: VulnDbMirrorRefreshView | null;
}

export class VulnDbEcosystemView {
  @ApiProperty({ example: 'Debian:12', description: 'The ecosystem as the records write it.' })
  ecosystem: string;

  @ApiProperty({ description: 'Records that name a package of this ecosystem.' })
  records: number;
}

export class VulnDbStatusView {
  @ApiProperty({ description: 'Stored records, withdrawn ones included.' })
  records: number;

  @ApiProperty({ description: 'Withdrawn records, which match no package.' })
  withdrawn: number;

  @ApiProperty({ type: () => [VulnDbEcosystemView] })
  ecosystems: VulnDbEcosystemView[];

  @ApiProperty({
    description: 'Raised by each import that changed a record; scans record the one they used.',
  })
  generation: number;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When an import last changed a record.',
  })
  updatedAt: string | null;

  @ApiProperty({
    type: () => VulnDbImportReportView,
    nullable: true,
    description: 'The last import that ended.',
  })
  lastImport: VulnDbImportReportView | null;

  @ApiProperty({
    type: () => VulnDbImportReportView,
    nullable: true,
    description: 'The import in progress, with its counts so far.',
  })
  importing: VulnDbImportReportView | null;

  @ApiProperty({
    type: () => VulnDbMirrorView,
    nullable: true,
    description: 'Null when no mirror is configured.',
  })
  mirror: VulnDbMirrorView | null;
}

export class VulnerablePackageView {
  @ApiProperty({ example: 'PyPI' })
  ecosystem: string;

  @ApiProperty({ example: 'jinja2', description: 'The name as stored: PEP 503 normalized for PyPI.' })
  name: string;
}

export class VulnerabilityView {
  @ApiProperty({ example: 'GHSA-h5c8-rqwp-cp95' })
  id: string;

  @ApiProperty({ format: 'date-time', description: "The record's `modified` time." })
  modified: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  withdrawn: string | null;

  @ApiProperty({ format: 'date-time' })
  importedAt: string;

  @ApiProperty({ type: () => [VulnerablePackageView] })
  packages: VulnerablePackageView[];

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The OSV record as imported.' })
  record: Record<string, unknown>;
}
