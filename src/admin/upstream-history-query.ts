import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';

/** The ranges the cache dashboard charts, in milliseconds. */
export const historyRanges = { '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000 } as const;

export type HistoryRange = keyof typeof historyRanges;

const rangeNames = Object.keys(historyRanges) as HistoryRange[];

export class UpstreamHistoryQuery {
  @ApiPropertyOptional({
    description: 'How far back from now the samples go.',
    enum: rangeNames,
    default: '24h',
  })
  @IsIn(rangeNames, { message: `range must be one of ${rangeNames.join(', ')}` })
  range: HistoryRange = '24h';
}
