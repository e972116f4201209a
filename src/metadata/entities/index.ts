import { ApiKeyEntity } from './api-key.entity.js';
import { BlobEntity } from './blob.entity.js';
import { ImageScanEntity, ScanAdvisoryEntity } from './image-scan.entity.js';
import { JobReportEntity } from './job-report.entity.js';
import { ManifestReferenceEntity } from './manifest-reference.entity.js';
import { ManifestEntity } from './manifest.entity.js';
import { OidcLoginEntity } from './oidc-login.entity.js';
import { RepositoryBlobEntity } from './repository-blob.entity.js';
import { RepositoryEntity } from './repository.entity.js';
import { SessionEntity } from './session.entity.js';
import { SignatureVerdictEntity, SigningTrustEntity } from './signing.entity.js';
import { TagEntity } from './tag.entity.js';
import { UploadSessionEntity } from './upload-session.entity.js';
import { UpstreamErrorEntity } from './upstream-error.entity.js';
import { UpstreamStatisticSampleEntity } from './upstream-statistic-sample.entity.js';
import { UpstreamStatisticEntity } from './upstream-statistic.entity.js';
import { UpstreamTagCheckEntity } from './upstream-tag-check.entity.js';
import { UserEntity } from './user.entity.js';
import { VulnerabilityDatabaseEntity } from './vulnerability-database.entity.js';
import { VulnerabilityPackageEntity } from './vulnerability-package.entity.js';
import { VulnerabilityEntity } from './vulnerability.entity.js';

export const entities = [
  RepositoryEntity,
  BlobEntity,
  RepositoryBlobEntity,
  ManifestEntity,
  ManifestReferenceEntity,
  TagEntity,
  UploadSessionEntity,
  UpstreamTagCheckEntity,
  UpstreamStatisticEntity,
  UpstreamStatisticSampleEntity,
  UpstreamErrorEntity,
  UserEntity,
  ApiKeyEntity,
  SessionEntity,
  OidcLoginEntity,
  JobReportEntity,
  ImageScanEntity,
  ScanAdvisoryEntity,
  VulnerabilityEntity,
  VulnerabilityPackageEntity,
  VulnerabilityDatabaseEntity,
  SigningTrustEntity,
  SignatureVerdictEntity,
];

export {
  ApiKeyEntity,
  BlobEntity,
  ImageScanEntity,
  JobReportEntity,
  ManifestEntity,
  ManifestReferenceEntity,
  OidcLoginEntity,
  RepositoryBlobEntity,
  RepositoryEntity,
  ScanAdvisoryEntity,
  SessionEntity,
  SignatureVerdictEntity,
  SigningTrustEntity,
  TagEntity,
  UploadSessionEntity,
  UpstreamErrorEntity,
  UpstreamStatisticEntity,
  UpstreamStatisticSampleEntity,
  UpstreamTagCheckEntity,
  UserEntity,
  VulnerabilityDatabaseEntity,
  VulnerabilityEntity,
  VulnerabilityPackageEntity,
};
