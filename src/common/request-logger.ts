import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** A logger that reports which levels it writes, as pino's loggers do. */
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * A request's logger, which creates its pino child on the first line written at an enabled level.
 * Fastify gives every request a child logger that carries the request id. Making one costs a few
 * microseconds, and at `log.level: warn` most requests never write a line, so the child is made only
 * when a line needs it.
 */
export class RequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: LevelAwareLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): LevelWithSilentOrString {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.target().level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  silent(): void {
    // Writes nothing, like pino's own `silent`.
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.target().child(bindings, options);
  }

  private write(level: Level, args: unknown[]): void {
    if (this.made === undefined && !this.parent.isLevelEnabled(level)) {
      return;
    }

    const logger = this.target();

    logger[level](...(args as Parameters<LogFn>));
  }

  private target(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);

    return this.made;
  }
}

/**
 * Fastify's `childLoggerFactory`: a RequestLogger when the parent reports which levels it writes, and
 * a plain child when the child gets a level of its own (a route's `logLevel`), which the parent's
 * levels do not show.
 */
export function createRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return typeof (parent as Partial<LevelAwareLogger>).isLevelEnabled === 'function' &&
    options.level === undefined
    ? new RequestLogger(parent as LevelAwareLogger, bindings, options)
    : parent.child(bindings, options);
}
