/** Injection token of the process's pino logger, for modules that write structured records. */
export const RootLogger = Symbol('RootLogger');
