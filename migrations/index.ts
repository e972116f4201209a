import { CreateCoreSchema1796419662502 } from './1796419662502-create-core-schema.js';
import { AddUpstreamCache1796422792818 } from './1796422792818-add-upstream-cache.js';
import { AddAuth1796500000000 } from './1796500000000-add-auth.js';
import { AddUpstreamStatisticSamples1796600000000 } from './1796600000000-add-upstream-statistic-samples.js';
import { AddLifecycleIndexes1796700000000 } from './1796700000000-add-lifecycle-indexes.js';
import { AddJobReports1796800000000 } from './1796800000000-add-job-reports.js';
import { AddVulnerabilityDatabase1796900000000 } from './1796900000000-add-vulnerability-database.js';
import { AddImageScans1797000000000 } from './1797000000000-add-image-scans.js';
import { AddSigning1797100000000 } from './1797100000000-add-signing.js';

/** Every migration in the order it runs; add new ones at the end and never edit one that has landed. */
export const migrations = [
  CreateCoreSchema1796419662502,
  AddUpstreamCache1796422792818,
  AddAuth1796500000000,
  AddUpstreamStatisticSamples1796600000000,
  AddLifecycleIndexes1796700000000,
  AddJobReports1796800000000,
  AddVulnerabilityDatabase1796900000000,
  AddImageScans1797000000000,
  AddSigning1797100000000,
];
