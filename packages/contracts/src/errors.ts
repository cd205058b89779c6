import Type from 'typebox';

/** docs/spec.md §11: Immich's error shape, plus the correlation id of the request. */
export const ErrorResponse = Type.Object(
  {
    message: Type.String(),
    error: Type.String(),
    statusCode: Type.Integer(),
    correlationId: Type.String(),
  },
  { $id: 'ErrorResponse' },
);
export type ErrorResponse = Type.Static<typeof ErrorResponse>;

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

export function reasonPhrase(statusCode: number): string {
  return reasonPhrases[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request');
}

/**
 * Domain errors: what went wrong, in domain terms. One table maps each kind to an HTTP status, in one
 * place (docs/spec.md §11). Code anywhere (routes, services, repositories) throws these; the HTTP layer
 * (@immish/runtime's error handler) renders them in the ErrorResponse shape above.
 */
export type ErrorKind =
  | 'invalid' // 400: bad input, or an object that does not exist / is not yours (Immich answers 400 for both)
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not-found' // 404 (routes, pages)
  | 'conflict' // 409
  | 'gone' // 410
  | 'too-large' // 413
  | 'unsupported' // 415
  | 'range' // 416
  | 'rate-limited' // 429
  | 'unavailable' // 503
  | 'insufficient-storage'; // 507

export const statusOfKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  gone: 410,
  'too-large': 413,
  unsupported: 415,
  range: 416,
  'rate-limited': 429,
  unavailable: 503,
  'insufficient-storage': 507,
};

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    kind: ErrorKind,
    message: string,
    opts: { retryAfterSeconds?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DomainError';
    this.kind = kind;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.details = opts.details;
  }
  get statusCode(): number {
    return statusOfKind[this.kind];
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new DomainError('invalid', message, details ? { details } : {});
/** Immich's wording for an id that does not exist or that the caller may not touch (no existence leak). */
export const noAccess = (what = 'Not found or no access') => new DomainError('invalid', what);
export const unauthenticated = (message: string) => new DomainError('unauthenticated', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const notFound = (message: string) => new DomainError('not-found', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const gone = (message: string) => new DomainError('gone', message);
export const tooLarge = (message: string) => new DomainError('too-large', message);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new DomainError('rate-limited', message, { retryAfterSeconds });
export const unavailable = (message: string, retryAfterSeconds = 5) =>
  new DomainError('unavailable', message, { retryAfterSeconds });
export const insufficientStorage = (message: string, cause?: unknown) =>
  new DomainError('insufficient-storage', message, cause === undefined ? {} : { cause });
