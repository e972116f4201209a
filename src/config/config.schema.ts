import 'reflect-metadata';

import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
  ValidateIf,
  IsArray,
  IsObject,
  ValidateBy,
  type ValidationArguments,
} from 'class-validator';

import { parseDuration } from './units.js';

const durationPattern = /^\d+(\.\d+)?(ms|s|m|h|d)$/;
const durationMessage = '$property must be a duration with a unit, such as 30s, 5m or 168h';
/** The sizes that parseSize in units.ts accepts: bytes, or a number with a binary unit. */
const sizePattern = /^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|TiB)?$/;
const sizeMessage = '$property must be a size in bytes or with a unit, such as 512MiB or 1GiB';

/**
 * Checks that a duration lies between `minimum` and `maximum`. It belongs above the `Matches` rule of
 * its property, so that a value that is no duration at all gets that rule's message instead.
 */
function DurationBetween(minimum: string, maximum: string) {
  const minimumMs = parseDuration(minimum) ?? 0;
  const maximumMs = parseDuration(maximum) ?? Infinity;

  return ValidateBy({
    name: 'durationBetween',
    validator: {
      validate: (value: unknown) => {
        const ms = typeof value === 'string' ? parseDuration(value) : undefined;

        return ms !== undefined && ms >= minimumMs && ms <= maximumMs;
      },
      defaultMessage: () => `$property must be between ${minimum} and ${maximum}`,
    },
  });
}

/** Checks that a duration of `StatisticsConfig` is at least that object's `sampleInterval`. */
function AtLeastSampleInterval() {
  // The object is the raw input, so `sampleInterval` may be of any type here.
  const intervalOf = (args?: ValidationArguments): unknown =>
    (args?.object as StatisticsConfig).sampleInterval;

  return ValidateBy({
    name: 'atLeastSampleInterval',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const interval = intervalOf(args);
        const ms = typeof value === 'string' ? parseDuration(value) : undefined;
        const intervalMs = typeof interval === 'string' ? parseDuration(interval) : undefined;

        // A bad sampleInterval gets its own message, so the comparison is skipped then.
        return ms !== undefined && (intervalMs === undefined || ms >= intervalMs);
      },
      defaultMessage: (args?: ValidationArguments) =>
        `$property must be at least sampleInterval (${String(intervalOf(args))})`,
    },
  });
}

/** Reads a YAML or environment number, such as `0` or `1024`, as a size in bytes. */
const sizeAsText = Transform(({ value }: { value: unknown }) =>
  typeof value === 'number' ? String(value) : value,
);

export class HttpConfig {
  /** Address to listen on; the default keeps the registry reachable from this host only. */
  @MinLength(1)
  @IsString()
  address = '127.0.0.1';

  /** TCP port; 0 picks a free port (tests use it). */
  @Min(0)
  @Max(65535)
  @IsInt()
  port = 5000;

  /** Public base URL used in Location and Link headers; relative URLs when unset. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  externalUrl?: string;

  @IsString({ each: true })
  @IsArray()
  trustedProxies: string[] = [];

  /**
   * How long requests in flight may take to finish after SIGTERM or SIGINT; connections still open
   * after it are cut.
   */
  @Matches(durationPattern, { message: durationMessage })
  shutdownGracePeriod = '10s';
}

export class UploadsConfig {
  /** Sessions untouched for longer than this are deleted with their bytes. */
  @Matches(durationPattern, { message: durationMessage })
  maxAge = '24h';

  /** How often the purge runs. */
  @Matches(durationPattern, { message: durationMessage })
  purgeInterval = '1h';
}

export class ScrubConfig {
  /**
   * How often every stored blob is read back and checked, starting one interval after start; `0s`
   * turns periodic scrubs off. The limit is what a Node.js timer can wait.
   */
  @DurationBetween('0s', '24d')
  @Matches(durationPattern, { message: durationMessage })
  interval = '168h';
}

export class GcConfig {
  /**
   * How often garbage collection runs, starting one interval after start; `0s` turns periodic runs
   * off. The limit is what a Node.js timer can wait.
   */
  @DurationBetween('0s', '24d')
  @Matches(durationPattern, { message: durationMessage })
  interval = '24h';

  /**
   * Grace period: nothing stored, linked or pulled more recently than this is collected, so that a blob
   * uploaded just before its manifest is still there when the manifest arrives.
   */
  @Matches(durationPattern, { message: durationMessage })
  delay = '1h';
}

/**
 * A retention rule for the repositories matching `repositories`. A tag is kept when any
 * `keep` setting keeps it; a rule with no `keep` setting keeps every tag. Untagged manifests are
 * deleted only when `deleteUntaggedAfter` is set.
 */
export class RetentionRule {
  /** Repository glob: `*` matches within one path segment, `**` across segments. */
  @MinLength(1)
  @IsString()
  repositories: string;

  /** Keep this many tags, the most recently pushed or pulled first. */
  @IsOptional()
  @Min(0)
  @IsInt()
  keepLast?: number;

  /** Keep tags matching any of these globs, such as `v*` or `latest`. */
  @IsOptional()
  @IsArray()
  @MinLength(1, { each: true })
  @IsString({ each: true })
  keepTags?: string[];

  /** Keep tags pushed or pulled within this long. */
  @IsOptional()
  @Matches(durationPattern, { message: durationMessage })
  keepWithin?: string;

  /** Delete manifests without a tag once they have been neither pushed nor pulled for this long. */
  @IsOptional()
  @Matches(durationPattern, { message: durationMessage })
  deleteUntaggedAfter?: string;
}

export class StorageConfig {
  @MinLength(1)
  @IsString()
  rootDirectory = './data';

  @ValidateNested()
  @Type(() => UploadsConfig)
  uploads: UploadsConfig = new UploadsConfig();

  @ValidateNested()
  @Type(() => ScrubConfig)
  scrub: ScrubConfig = new ScrubConfig();

  @ValidateNested()
  @Type(() => GcConfig)
  gc: GcConfig = new GcConfig();

  /** Retention rules, the first matching a repository applies to it; without one, every tag stays. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RetentionRule)
  retention: RetentionRule[] = [];

  /** The readiness probe fails when the file system of `rootDirectory` has less free space than this. */
  @sizeAsText
  @Matches(sizePattern, { message: sizeMessage })
  minFreeSpace = '1GiB';

  /** Memory that keeps recently read manifests, so that repeated pulls skip the disk; `0` turns it off. */
  @sizeAsText
  @Matches(sizePattern, { message: sizeMessage })
  manifestCacheSize = '16MiB';
}

/** The mirror the vulnerability database is refreshed from, besides `wharf vulndb import`. */
export class VulnerabilityMirrorConfig {
  /**
   * An OSV zip archive (such as a copy of `https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip`)
   * or a JSON file holding one OSV record or an array of them, fetched on every refresh.
   */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  url: string;

  /** How often the mirror is fetched again, starting at start-up. */
  @DurationBetween('1m', '24d')
  @Matches(durationPattern, { message: durationMessage })
  interval = '24h';
}

/**
 * Refuses pulls of images in the repositories matching `repositories` that have a finding at or
 * above `severity`, unless the finding's advisory id or one of its aliases is in `allow`.
 */
export class ScanPolicyRule {
  /** Repository glob: `*` matches within one path segment, `**` across segments. */
  @MinLength(1)
  @IsString()
  repositories: string;

  /**
   * The lowest severity that refuses a pull, in any case. `UNKNOWN` refuses any finding, rated or
   * not, because advisories without a CVSS score or rating (many Debian ones) rank below `LOW`.
   */
  @IsIn(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'UNKNOWN'])
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  severity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'UNKNOWN';

  /** Advisory ids or aliases (such as `CVE-2023-4911`) that never refuse a pull. */
  @IsArray()
  @MinLength(1, { each: true })
  @IsString({ each: true })
  allow: string[] = [];

  /**
   * Lets an image through whose scan could not read every layer (a zstd layer, or one that is not
   * tar or gzip). By default such an image is refused, because its findings may be missing.
   */
  @IsBoolean()
  allowIncomplete = false;
}

export class ScanningConfig {
  /** Scan images on push, on cache fill and when the vulnerability database changes. */
  @IsBoolean()
  enabled = true;

  /** How many images are scanned at once. */
  @Max(16)
  @Min(1)
  @IsInt()
  concurrency = 1;

  /**
   * How many pushed or cached images wait in memory for a scan. Beyond it, images wait in the
   * database and are queued once the queue has drained, so a burst of pushes does not grow memory.
   */
  @Max(1_000_000)
  @Min(1)
  @IsInt()
  queueLimit = 1000;

  /** Largest single file read into memory while taking an image's inventory, such as an rpm database or a jar. */
  @sizeAsText
  @Matches(sizePattern, { message: sizeMessage })
  maxFileSize = '64MiB';

  /** Attach the SBOM of each scanned image in a local repository as an OCI referrer artifact. */
  @IsBoolean()
  attachSbom = true;

  @IsOptional()
  @ValidateNested()
  @Type(() => VulnerabilityMirrorConfig)
  mirror?: VulnerabilityMirrorConfig;

  /** Pull policies, the first matching a repository applies to it; without one, every pull is allowed. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ScanPolicyRule)
  policies: ScanPolicyRule[] = [];
}

/** Keyless (Fulcio certificate) signers whose sigstore bundles are trusted. */
export class SigstoreIdentityConfig {
  /** The certificate's subject: the URI or email in its subject alternative name. */
  @MinLength(1)
  @IsString()
  subject: string;

  /** The OIDC issuer recorded in the certificate, such as `https://token.actions.githubusercontent.com`. */
  @MinLength(1)
  @IsString()
  issuer: string;
}

export class CosignTrustConfig {
  /** PEM public key files (ECDSA, RSA or Ed25519); each key is reported under its file name. */
  @IsArray()
  @MinLength(1, { each: true })
  @IsString({ each: true })
  publicKeys: string[] = [];

  /** A sigstore trusted root (`trusted_root.json`) for keyless bundles and transparency log entries. */
  @IsOptional()
  @MinLength(1)
  @IsString()
  trustedRoot?: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SigstoreIdentityConfig)
  identities: SigstoreIdentityConfig[] = [];
}

export class NotationTrustConfig {
  /**
   * Trust stores by `type:name` (such as `ca:release`), each a list of PEM files of CA or signing
   * certificates, as notation's trust policies name them.
   */
  @IsObject()
  @ValidateBy({
    name: 'trustStoreMap',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        Object.entries(value).every(
          ([name, files]) =>
            /^(ca|signingAuthority|tsa):[A-Za-z0-9_.-]+$/.test(name) &&
            Array.isArray(files) &&
            files.every((file) => typeof file === 'string' && file.length > 0),
        ),
      defaultMessage: () =>
        '$property must map names such as "ca:release" (type ca, signingAuthority or tsa) to lists of PEM files',
    },
  })
  trustStores: Record<string, string[]> = {};

  /**
   * A notation trust policy file (JSON, version 1.0). Without one, every repository is verified
   * strictly against all trust stores, with any identity.
   */
  @IsOptional()
  @MinLength(1)
  @IsString()
  trustPolicy?: string;
}

/** Refuses pulls of images in the repositories matching `repositories` without a verified signature. */
export class SigningPolicyRule {
  /** Repository glob: `*` matches within one path segment, `**` across segments. */
  @MinLength(1)
  @IsString()
  repositories: string;

  @IsBoolean()
  requireVerified = true;
}

export class SigningConfig {
  @ValidateNested()
  @Type(() => CosignTrustConfig)
  cosign: CosignTrustConfig = new CosignTrustConfig();

  @ValidateNested()
  @Type(() => NotationTrustConfig)
  notation: NotationTrustConfig = new NotationTrustConfig();

  /** Pull policies, the first matching a repository applies to it; without one, every pull is allowed. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SigningPolicyRule)
  policies: SigningPolicyRule[] = [];
}

export class DatabaseConfig {
  @IsIn(['sqlite', 'postgres'])
  type: 'sqlite' | 'postgres' = 'sqlite';

  /** SQLite file; defaults to `<storage.rootDirectory>/wharf.db`. */
  @IsOptional()
  @MinLength(1)
  @IsString()
  path?: string;

  @ValidateIf((database: DatabaseConfig) => database.type === 'postgres')
  @MinLength(1)
  @IsString({ message: '$property is required when database.type is postgres' })
  url?: string;
}

export class UpstreamConfig {
  @Matches(/^[a-z0-9]+([._-][a-z0-9]+)*$/, { message: '$property must be one lower-case path component' })
  prefix: string;

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  url: string;

  @IsBoolean()
  dockerHub = false;

  @Matches(durationPattern, { message: durationMessage })
  tagTtl = '5m';

  @IsOptional()
  @IsString()
  username?: string;

  @IsOptional()
  @IsString()
  passwordFile?: string;

  @IsBoolean()
  tlsVerify = true;

  /** PEM file of extra certificate authorities to trust for this upstream. */
  @IsOptional()
  @IsString()
  caFile?: string;

  /** Connect, response-header and idle-body timeout of each upstream request. */
  @Matches(durationPattern, { message: durationMessage })
  timeout = '30s';

  /** How long an upstream "not found" is remembered, so repeats do not reach the upstream. */
  @Matches(durationPattern, { message: durationMessage })
  notFoundTtl = '30s';

  /**
   * Maximum bytes the cache of this upstream may store; garbage collection evicts the least recently
   * pulled images until it stores less. Unset or `0` means no limit.
   */
  @IsOptional()
  @sizeAsText
  @Matches(sizePattern, { message: sizeMessage })
  maxSize?: string;

  /**
   * Cache and serve only images whose signatures verify against `signing`'s trust. The image's
   * signatures and other referrers are fetched from the upstream with it.
   */
  @IsBoolean()
  onlySigned = false;
}

export class StatisticsConfig {
  /** How often each upstream's cache counters and storage are saved as one sample for the history charts. */
  @DurationBetween('1s', '24h')
  @Matches(durationPattern, { message: durationMessage })
  sampleInterval = '1m';

  /** Samples older than this are deleted; it must be at least `sampleInterval`. */
  @AtLeastSampleInterval()
  @Matches(durationPattern, { message: durationMessage })
  retention = '14d';
}

export class LogConfig {
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  level = 'info';
}

export class MetricsConfig {
  /** Whether `/metrics` is served at all, on the main port and on `port`. */
  @IsBoolean()
  enabled = true;

  /** Port of the separate listener on `http.address`, which serves `/metrics` without auth; 0 turns it off. */
  @Min(0)
  @Max(65535)
  @IsInt()
  port = 5001;
}

export class HtpasswdConfig {
  /** An htpasswd file of bcrypt hashes (`htpasswd -B`); reloaded when it changes. */
  @MinLength(1)
  @IsString()
  path: string;
}

export class TokenConfig {
  /**
   * PEM private key (EC P-256, RSA or Ed25519) that signs tokens; created on first start if missing.
   * Defaults to `<storage.rootDirectory>/token-signing.pem`.
   */
  @IsOptional()
  @MinLength(1)
  @IsString()
  signingKeyFile?: string;

  /** Lifetime of an access token. */
  @Matches(durationPattern, { message: durationMessage })
  ttl = '5m';

  /** Lifetime of a refresh token, the credential `docker login` keeps. */
  @Matches(durationPattern, { message: durationMessage })
  refreshTtl = '720h';

  /** The `service` of the challenge and the tokens' audience; defaults to the external URL's host. */
  @IsOptional()
  @MinLength(1)
  @IsString()
  service?: string;

  /** The tokens' `iss` claim. */
  @MinLength(1)
  @IsString()
  issuer = 'wharf';
}

export class OidcConfig {
  /** Issuer URL, for Authentik `https://host/application/o/<slug>/` with its trailing slash. */
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  issuer: string;

  @MinLength(1)
  @IsString()
  clientId: string;

  /** File holding the client secret; without it the client is public and relies on PKCE alone. */
  @IsOptional()
  @MinLength(1)
  @IsString()
  clientSecretFile?: string;

  @IsString({ each: true })
  @IsArray()
  scopes: string[] = ['openid', 'profile', 'email'];

  @MinLength(1)
  @IsString()
  usernameClaim = 'preferred_username';

  @MinLength(1)
  @IsString()
  groupsClaim = 'groups';

  /** Base URL of the callback; defaults to `http.externalUrl`. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  redirectBase?: string;
}

export class ForwardAuthConfig {
  @IsBoolean()
  enabled = false;

  @MinLength(1)
  @IsString()
  userHeader = 'X-authentik-username';

  /** Groups separated by `|`, as Authentik's outpost sends them. */
  @MinLength(1)
  @IsString()
  groupsHeader = 'X-authentik-groups';
}

export class SessionConfig {
  /** Lifetime of a browser session. */
  @Matches(durationPattern, { message: durationMessage })
  ttl = '12h';
}

export class FailedLoginsConfig {
  /** Failed attempts one client address may make per window before it gets 429. */
  @Min(1)
  @IsInt()
  limit = 10;

  @Matches(durationPattern, { message: durationMessage })
  window = '1m';

  /** Delay before the response to each failed attempt. */
  @Matches(durationPattern, { message: durationMessage })
  delay = '1s';
}

/** Present means authentication is on; absent leaves the registry open. */
export class AuthConfig {
  @IsOptional()
  @ValidateNested()
  @Type(() => HtpasswdConfig)
  htpasswd?: HtpasswdConfig;

  @ValidateNested()
  @Type(() => TokenConfig)
  token: TokenConfig = new TokenConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => OidcConfig)
  oidc?: OidcConfig;

  @ValidateNested()
  @Type(() => ForwardAuthConfig)
  forwardAuth: ForwardAuthConfig = new ForwardAuthConfig();

  @ValidateNested()
  @Type(() => SessionConfig)
  session: SessionConfig = new SessionConfig();

  @ValidateNested()
  @Type(() => FailedLoginsConfig)
  failedLogins: FailedLoginsConfig = new FailedLoginsConfig();
}

/** Actions on a repository; `create` pushes new tags, `update` moves existing ones. */
export const accessActions = ['read', 'create', 'update', 'delete'] as const;
export type AccessAction = (typeof accessActions)[number];

/** One entry of `access.repositories`, checked by the loader because its keys are free-form. */
export interface RepositoryRuleConfig {
  anonymous?: AccessAction[];
  authenticated?: AccessAction[];
  users?: Record<string, AccessAction[]>;
  groups?: Record<string, AccessAction[]>;
}

export class AnonymousAccessConfig {
  /** Client networks (CIDR) whose requests may use the anonymous rules; other clients must sign in. */
  @IsString({ each: true })
  @IsArray()
  networks: string[] = ['127.0.0.0/8', '::1/128'];
}

export class PrincipalsConfig {
  @IsString({ each: true })
  @IsArray()
  users: string[] = [];

  @IsString({ each: true })
  @IsArray()
  groups: string[] = [];
}

export class MetricsAccessConfig extends PrincipalsConfig {
  /** Whether clients inside the anonymous networks may scrape `/metrics` without signing in. */
  @IsBoolean()
  anonymous = true;
}

export class AccessConfig {
  @ValidateNested()
  @Type(() => AnonymousAccessConfig)
  anonymous: AnonymousAccessConfig = new AnonymousAccessConfig();

  /** Repository globs (`*` within one path segment, `**` across segments); the longest match wins. */
  @IsObject()
  repositories: Record<string, RepositoryRuleConfig> = {
    '**': { anonymous: ['read'], authenticated: ['read', 'create', 'update', 'delete'] },
  };

  @ValidateNested()
  @Type(() => PrincipalsConfig)
  admins: PrincipalsConfig = new PrincipalsConfig();

  @ValidateNested()
  @Type(() => MetricsAccessConfig)
  metrics: MetricsAccessConfig = new MetricsAccessConfig();
}

/**
 * The whole configuration tree, validated once at start-up. Validation stops at a property's first
 * failing rule, and runs the rules from the one nearest the property upwards, so each type check sits
 * directly above its property.
 */
export class WharfConfig {
  @ValidateNested()
  @Type(() => HttpConfig)
  http: HttpConfig = new HttpConfig();

  @ValidateNested()
  @Type(() => StorageConfig)
  storage: StorageConfig = new StorageConfig();

  @ValidateNested()
  @Type(() => DatabaseConfig)
  database: DatabaseConfig = new DatabaseConfig();

  @ValidateNested({ each: true })
  @IsArray()
  @Type(() => UpstreamConfig)
  upstreams: UpstreamConfig[] = [];

  @IsOptional()
  @ValidateNested()
  @Type(() => AuthConfig)
  auth?: AuthConfig;

  @ValidateNested()
  @Type(() => AccessConfig)
  access: AccessConfig = new AccessConfig();

  @ValidateNested()
  @Type(() => StatisticsConfig)
  statistics: StatisticsConfig = new StatisticsConfig();

  @ValidateNested()
  @Type(() => LogConfig)
  log: LogConfig = new LogConfig();

  @ValidateNested()
  @Type(() => MetricsConfig)
  metrics: MetricsConfig = new MetricsConfig();

  @ValidateNested()
  @Type(() => ScanningConfig)
  scanning: ScanningConfig = new ScanningConfig();

  @ValidateNested()
  @Type(() => SigningConfig)
  signing: SigningConfig = new SigningConfig();
}
