import 'reflect-metadata';

import { Type } from 'class-transformer';
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
} from 'class-validator';

const durationPattern = /^\d+(\.\d+)?(ms|s|m|h|d)$/;
const durationMessage = '$property must be a duration with a unit, such as 30s, 5m or 168h';

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
}

export class UploadsConfig {
  /** Sessions untouched for longer than this are deleted with their bytes. */
  @Matches(durationPattern, { message: durationMessage })
  maxAge = '24h';

  /** How often the purge runs. */
  @Matches(durationPattern, { message: durationMessage })
  purgeInterval = '1h';
}

export class StorageConfig {
  @MinLength(1)
  @IsString()
  rootDirectory = './data';

  @ValidateNested()
  @Type(() => UploadsConfig)
  uploads: UploadsConfig = new UploadsConfig();
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
}

export class LogConfig {
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  level = 'info';
}

export class MetricsConfig {
  @IsBoolean()
  enabled = true;

  @Min(0)
  @Max(65535)
  @IsInt()
  port = 5001;
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

  @ValidateNested()
  @Type(() => LogConfig)
  log: LogConfig = new LogConfig();

  @ValidateNested()
  @Type(() => MetricsConfig)
  metrics: MetricsConfig = new MetricsConfig();
}
