import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateBy } from 'class-validator';

import { Digest } from '../common/digest.js';
import { DomainError } from '../common/domain-errors.js';
import { isValidTag, parseName } from '../distribution/oci-path.js';
import type { RepositorySortKey } from '../metadata/stores/repository-summary.store.js';

export const maxPageSize = 100;
/** Keeps `page * pageSize` far below 2^53, so the SQL offset stays an exact integer. */
const maxPage = 1_000_000;

export const repositoryKinds = ['local', 'cached'] as const;
export const repositorySortKeys: readonly RepositorySortKey[] = ['name', 'lastPush', 'lastPull'];
export const sortOrders = ['asc', 'desc'] as const;

export class PageQuery {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'Page number, starting at 1.',
    minimum: 1,
    maximum: maxPage,
    default: 1,
  })
  @Max(maxPage)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  page = 1;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Entries per page.',
    minimum: 1,
    maximum: maxPageSize,
    default: 20,
  })
  @Max(maxPageSize)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  pageSize = 20;
}

export class ListRepositoriesQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Keep names that contain this text (ignoring case).', maxLength: 255 })
  @IsOptional()
  @MaxLength(255)
  @IsString()
  q?: string;

  @ApiPropertyOptional({
    description: '`cached`: names under a configured upstream prefix; `local`: every other name.',
    enum: repositoryKinds,
  })
  @IsOptional()
  @IsIn(repositoryKinds)
  kind?: (typeof repositoryKinds)[number];

  @ApiPropertyOptional({
    description: 'Keep only the cache of this configured upstream prefix.',
    example: 'docker',
  })
  @IsOptional()
  @Matches(/^[a-z0-9]+([._-][a-z0-9]+)*$/, { message: 'upstream must be an upstream prefix, such as docker' })
  @IsString()
  upstream?: string;

  @ApiPropertyOptional({
    description: 'Sort key. Repositories without a push or pull time come last.',
    enum: repositorySortKeys,
    default: 'name',
  })
  @IsIn(repositorySortKeys)
  sort: RepositorySortKey = 'name';

  @ApiPropertyOptional({
    description: 'Sort direction; `asc` for `name` and `desc` (newest first) for the times by default.',
    enum: sortOrders,
  })
  @IsOptional()
  @IsIn(sortOrders)
  order?: (typeof sortOrders)[number];
}

export class RepositoryParams {
  @ApiProperty({
    description:
      'Repository name. Its "/" must be URL-encoded as %2F in the path (team%2Fapp for team/app); Swagger UI encodes it.',
    example: 'team/app',
  })
  @IsRepositoryName()
  name: string;
}

export class TagParams extends RepositoryParams {
  @ApiProperty({ example: 'v1.2.3' })
  @ValidateBy({
    name: 'isTag',
    validator: {
      validate: (value) => typeof value === 'string' && isValidTag(value),
      defaultMessage: () =>
        'tag must be up to 128 letters, digits, "_", "." or "-", not starting with "." or "-"',
    },
  })
  tag: string;
}

export class ManifestParams extends RepositoryParams {
  @ApiProperty({ example: 'sha256:4c0fb8b2f6d0a4a1b1e7c6a1b5b1d1f4a3e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5' })
  @ValidateBy({
    name: 'isDigest',
    validator: {
      validate: (value) => typeof value === 'string' && Digest.isValid(value),
      defaultMessage: (args) => `digest is invalid: ${digestProblem(args?.value)}`,
    },
  })
  digest: string;
}

/** Validates a repository name against the OCI name grammar, naming the rule it breaks. */
export function IsRepositoryName(): PropertyDecorator {
  return ValidateBy({
    name: 'isRepositoryName',
    validator: {
      validate: (value) => typeof value === 'string' && nameProblem(value) === undefined,
      defaultMessage: (args) => `name is invalid: ${nameProblem(args?.value) ?? 'not a string'}`,
    },
  });
}

function nameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return 'not a string';
  }

  try {
    parseName(value);

    return undefined;
  } catch (error) {
    if (error instanceof DomainError) {
      return error.message.replace(/^invalid repository name: /, '');
    }

    throw error;
  }
}

export function digestProblem(value: unknown): string {
  if (typeof value !== 'string') {
    return 'not a string';
  }

  try {
    Digest.parse(value);

    return 'unknown reason';
  } catch (error) {
    if (error instanceof DomainError) {
      return error.message.replace(/^invalid digest: /, '');
    }

    throw error;
  }
}

export class StartGcQuery {
  @ApiPropertyOptional({
    description: '`true` deletes nothing and reports what a real run would delete.',
    enum: ['true', 'false'],
    default: 'false',
  })
  @IsIn(['true', 'false'], { message: 'dryRun must be true or false' })
  dryRun: 'true' | 'false' = 'false';
}
