// Thumbhash placeholders live in media (the share page and the owner console show the same ones).
export { thumbhashDataUrl } from '@immish/media';
