/** What the transcoder modules log through; a pino logger fits it. */
export interface TranscodeLog {
  debug(details: object, message?: string): void;
  info(details: object, message?: string): void;
  warn(details: object, message?: string): void;
}

/** What a module logs through when its caller passes no log. */
export const silentLog: TranscodeLog = { debug() {}, info() {}, warn() {} };
