import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** SPEC §10: logs never contain passwords, keys or unlock tokens. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-immich-share-key"]',
  'req.headers["x-immich-share-slug"]',
  'req.headers["x-immich-checksum"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'token',
  '*.token',
];

/** `destination`: where the JSON lines go (default stdout); tests pass a stream to inspect them. */
export function createLogger(opts: { service: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.service },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        // URLs may carry a link key (?key=…): never log it
        req: (req: { method: string; url: string; id: string }) => ({
          method: req.method,
          url: scrubUrl(req.url),
          id: req.id,
        }),
      },
    },
    opts.destination,
  );
}

/** Replaces link keys, slugs and tokens in a URL with a placeholder. */
export function scrubUrl(url: string): string {
  return url
    .replace(/([?&](key|slug|token|password)=)[^&]*/gi, '$1[redacted]')
    .replace(/(\/(share|s)\/)[^/?#]+/g, '$1[redacted]');
}
