/**
 * The share target screen's strings (issue 15, the seed's "Upload to Immich"), apart from the console's own
 * strings module so that the two screens can change independently; same shape rules: one module, read by the
 * server's view and by the client script through esbuild.
 */
export const shareEn = {
  manifestName: 'immish',
  manifestDescription: 'Your photos, shared by link',
  title: 'Upload to immish',
  ready: (n: number) => (n === 1 ? '1 photo ready to upload' : `${n} photos ready to upload`),
  nothing: 'Nothing to upload. Share photos or videos to immish from another app, or pick them here.',
  pick: 'Choose files…',
  album: 'Add to Album (optional)',
  noAlbum: 'No album',
  newAlbum: 'New album…',
  newAlbumName: 'New album name',
  cancel: 'Cancel',
  upload: 'Upload',
  back: 'Back',
  signInFirst: 'Sign in to upload the shared files. They stay on this device until you do.',
  // the signed-out form of the share target screen
  email: 'Email',
  password: 'Password',
  signIn: 'Sign in',
  signInFailed: 'Sign-in failed',
  tooManyAttempts: 'Too many attempts',
  noPreview: 'No preview',
  progressOf: (name: string) => `Upload progress of ${name}`,
  state: {
    waiting: 'Waiting',
    sending: 'Sending',
    processing: 'Processing',
    ready: 'Uploaded',
    duplicate: 'Already in your library',
    failed: 'Failed',
  },
  failedBecause: (reason: string) => `Failed: ${reason}`,
  uploadFailed: (status: number) =>
    status === 0 ? 'The server is unreachable. Try again.' : `The upload was refused (HTTP ${status}).`,
  done: (ok: number, total: number) => `${ok} of ${total} uploaded`,
  lost: 'The shared files did not reach immish (the app was not installed yet). Share them again.',
};
/**
 * The library's "Share files…" (issue 15 item 1, the seed's "Share via"): the photos themselves, to another app.
 * Beside "Share link", which makes a public link instead: each name says what is shared.
 */
export const shareSheetEn = {
  button: 'Share files…',
  fetching: (done: number, total: number) => `Preparing ${done} of ${total}…`,
  failed: 'Could not prepare the photos. Try again.',
  dialogTitle: 'Share',
  download: 'Download',
  downloadZip: (n: number) => `Download ${n} photos as a zip`,
  zipping: (pct: number) => `Preparing the zip… ${pct}%`,
  copyLink: 'Copy a new link',
  copied: 'Link copied',
  email: 'Email',
  emailSubject: 'Photos for you',
  close: 'Close',
};

export type ShareStrings = typeof shareEn;
