import Type from 'typebox';

/** Ids exposed through the API are UUIDv4 (Immich's schema pins version 4). */
export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
/** ISO-8601 with milliseconds and `Z` (rendered by `toIso`). */
export const IsoDateTime = Type.String({ format: 'date-time' });

export const toIso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();
export const toIsoOrNull = (d: Date | string | null | undefined): string | null => (d == null ? null : toIso(d));
