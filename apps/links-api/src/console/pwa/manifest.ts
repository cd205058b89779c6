import { SHARE_FILES_FIELD, SHARE_TARGET_PATH } from './paths.ts';
import { shareEn } from './strings.en.ts';

/**
 * The Web App Manifest (issue 15): what makes the console installable (name, 192 and 512 px PNG icons,
 * start_url, `display: standalone`) and a share target for photos and videos — a phone's share sheet POSTs
 * them as multipart/form-data to /share-target, where the service worker receives them.
 */
export function webManifest() {
  return {
    id: '/',
    name: shareEn.manifestName,
    short_name: shareEn.manifestName,
    description: shareEn.manifestDescription,
    start_url: '/',
    scope: '/',
    display: 'standalone',
    background_color: '#ffffff',
    theme_color: '#1e5ec8',
    icons: [
      { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    ],
    share_target: {
      action: SHARE_TARGET_PATH,
      method: 'POST',
      enctype: 'multipart/form-data',
      params: { files: [{ name: SHARE_FILES_FIELD, accept: ['image/*', 'video/*'] }] },
    },
  };
}
