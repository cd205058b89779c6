// Storage layout ----------------------------------------------------------------------------------

/**
 * Storage keys of an asset (docs/spec.md §9): everything of one asset under one prefix, so deleting an asset is
 * one prefix and an owner's data is one prefix too.
 *   assets/<ownerId>/<assetId>/original.<ext>   the uploaded bytes, as received
 *   assets/<ownerId>/<assetId>/thumbnail.webp   ≈250 px WebP, no metadata
 *   assets/<ownerId>/<assetId>/preview.jpg      ≈1440 px JPEG, no metadata
 * `<ext>` is the uploaded file name's extension (lower-case, `bin` when it has none); the served MIME type
 * comes from content sniffing (the row's mime_type), never from the key.
 */
export const assetKeys = (ownerId: string, assetId: string, ext: string) => {
  const prefix = `assets/${ownerId}/${assetId}`;
  const original = `${prefix}/original.${ext}`;
  return { prefix, original, ...derivativeKeys(original) };
};

/** The derivatives of an asset live next to its original (the ingest worker writes them from the row's key). */
export function derivativeKeys(originalKey: string): { thumbnail: string; preview: string; rendition: string } {
  const prefix = originalKey.slice(0, originalKey.lastIndexOf('/'));
  return {
    thumbnail: `${prefix}/thumbnail.webp`,
    preview: `${prefix}/preview.jpg`,
    /** a video's web-playable H.264/AAC MP4, when its original is not (written by the renditions queue) */
    rendition: `${prefix}/rendition.mp4`,
  };
}

/** Lower-case extension of a client file name, restricted to safe characters; `bin` when there is none. */
export function fileExtension(fileName: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(fileName);
  return m?.[1] ? m[1].toLowerCase() : 'bin';
}
