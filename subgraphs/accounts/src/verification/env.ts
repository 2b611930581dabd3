import { parseEnv, z } from '@courier/config';
import type { Logger } from '@courier/logging';
import { HttpVerificationCodeSender } from './http-sender.ts';
import { LogVerificationCodeSender, type VerificationOutbox } from './log-sender.ts';
import type { VerificationCodeSender } from './sender.ts';

/**
 * Environment of the verification code sender: `VERIFICATION_SENDER=log|http` (default `log`);
 * for `http`, `VERIFICATION_HTTP_URL` and `VERIFICATION_HTTP_TOKEN` are required, and
 * `VERIFICATION_HTTP_TIMEOUT_MS` (default 5000) and `VERIFICATION_HTTP_MAX_ATTEMPTS` (default 3)
 * tune it.
 */
export const verificationEnv = z
  .object({
    VERIFICATION_SENDER: z.enum(['log', 'http']).default('log'),
    VERIFICATION_HTTP_URL: z.url({ protocol: /^https?$/ }).optional(),
    VERIFICATION_HTTP_TOKEN: z.string().min(1).optional(),
    VERIFICATION_HTTP_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(5000),
    VERIFICATION_HTTP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  })
  .superRefine((env, context) => {
    if (env.VERIFICATION_SENDER !== 'http') return;
    for (const name of ['VERIFICATION_HTTP_URL', 'VERIFICATION_HTTP_TOKEN'] as const) {
      if (!env[name]) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: 'required when VERIFICATION_SENDER=http',
        });
      }
    }
  });

/** The parsed {@link verificationEnv}. */
export type VerificationEnv = z.output<typeof verificationEnv>;

/** A chosen sender, and its outbox when it is the log sender. */
export interface ConfiguredSender {
  readonly sender: VerificationCodeSender;
  readonly outbox: VerificationOutbox | undefined;
}

/**
 * Builds the sender the environment asks for.
 *
 * @throws ConfigError (from `@courier/config`) naming each invalid variable.
 */
export function senderFromEnv(
  options: { readonly logger: Logger; readonly production: boolean },
  env: NodeJS.ProcessEnv = process.env,
): ConfiguredSender {
  const config = parseEnv(verificationEnv, env);
  if (config.VERIFICATION_SENDER === 'http') {
    return {
      sender: new HttpVerificationCodeSender({
        url: config.VERIFICATION_HTTP_URL ?? '',
        token: config.VERIFICATION_HTTP_TOKEN ?? '',
        timeoutMs: config.VERIFICATION_HTTP_TIMEOUT_MS,
        maxAttempts: config.VERIFICATION_HTTP_MAX_ATTEMPTS,
        logger: options.logger,
      }),
      outbox: undefined,
    };
  }
  if (options.production) {
    options.logger.warn('VERIFICATION_SENDER=log in production: codes only reach the outbox');
  }
  const sender = new LogVerificationCodeSender(options);
  return { sender, outbox: sender.outbox };
}
