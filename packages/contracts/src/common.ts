import Type from 'typebox';

/** Ids exposed through the API are UUIDv4 (Immich's schema pins version 4). */
export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
/** ISO-8601 with milliseconds and `Z` (rendered by `toIso`). */
export const IsoDateTime = Type.String({ format: 'date-time' });

export const toIso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();
export const toIsoOrNull = (d: Date | string | null | undefined): string | null => (d == null ? null : toIso(d));

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A plain UUID in its 36-character text form, any version (what every id check accepts before a query; PostgreSQL's
 * other spellings, such as `urn:uuid:` or brace forms, are not). The one copy of the rule.
 */
export const isUuid = (id: string): boolean => UUID_TEXT.test(id);
