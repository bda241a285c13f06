import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { installDataStreamFastPath } from "../mail/data-stream.js";
import type { MailMetrics } from "../metrics.js";

export interface MailFastPaths {
  /** MAIL_FAST_PATHS as configured. */
  enabled: boolean;
  /** Whether nodemailer's SMTP data stream is patched (it passed its self-check). */
  dataStream: boolean;
}

/**
 * Installs the process-wide mail speed trick (the nodemailer data-stream patch) when
 * MAIL_FAST_PATHS allows, and says what is engaged: a log line and the
 * `paperboy_mail_fast_path_engaged` gauge. The per-sender tricks (MIME writer,
 * direct template fill) report themselves when the digest sender is built.
 * Called by openRuntime, so every entry point does it before any mail goes out.
 */
export async function installMailFastPaths(
  config: Pick<Config, "MAIL_FAST_PATHS">,
  logger: Logger,
  metrics: { mail: MailMetrics },
  opts: { quiet?: boolean } = {},
): Promise<MailFastPaths> {
  // CLI commands write their results to stdout, where the log goes too: the expected states stay at debug there.
  const say = opts.quiet ? logger.debug.bind(logger) : logger.info.bind(logger);
  const enabled = config.MAIL_FAST_PATHS;
  const dataStream = enabled ? await installDataStreamFastPath() : false;
  metrics.mail.fastPath("data_stream", dataStream);
  metrics.mail.fastPath("mime_writer", enabled);
  // createSmtpMailer reads the same setting: finished messages go through our SMTP session pool.
  metrics.mail.fastPath("session_pool", enabled);
  if (!enabled) {
    say({ mailFastPaths: false }, "MAIL_FAST_PATHS=false: mail uses plain nodemailer composing, Handlebars and nodemailer's data stream");
  } else if (!dataStream) {
    // Not fatal: mail goes out through nodemailer's own code, only slower.
    logger.warn({ mailFastPaths: true, dataStream: false }, "SMTP data-stream fast path is off: this nodemailer failed its self-check or moved the file; using nodemailer's stream");
  } else {
    say({ mailFastPaths: true, dataStream: true }, "mail fast paths on: SMTP data-stream patch engaged");
  }
  return { enabled, dataStream };
}
