/**
 * Names the server, the service worker and the share screen agree on (issue 15). Plain constants, apart from
 * inbox.ts, which uses browser APIs: server code imports them from here without pulling DOM types in.
 */
export const INBOX_CACHE = 'immish-share-inbox';
export const SHELL_CACHE_PREFIX = 'immish-shell-';
export const SHARE_TARGET_PATH = '/share-target';
/** The manifest's `share_target.params.files[0].name`: the form field the phone puts the files in. */
export const SHARE_FILES_FIELD = 'media';
