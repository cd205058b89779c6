/**
 * Every user-visible string of the owner console, in English (docs/spec.md §14; issue 14 item 6): the server's
 * views and the client bundle both read this one module (the bundle gets it through esbuild), so a translation
 * is one more file of the same shape. The Create Shared Link labels are the reference document's, exactly.
 */
export const en = {
  appName: 'immish',
  consoleTitle: 'immish — owner console',
  signIn: {
    title: 'Sign in',
    email: 'Email',
    password: 'Password',
    submit: 'Sign in',
    failed: 'Incorrect email or password',
    throttled: 'Too many wrong passwords. Try again later.',
    unavailable: 'The server is busy or unreachable. Try again in a moment.',
  },
  nav: { library: 'Library', signOut: 'Sign out', signedInAs: 'Signed in as' },
  library: {
    title: 'Library',
    empty: 'No photos yet. Upload some with the Immich app or CLI.',
    selectAll: 'Select all',
    clearSelection: 'Clear selection',
    selected: (n: number) => (n === 1 ? '1 photo selected' : `${n} photos selected`),
    share: 'Share',
    shareHint: 'Select photos (click, Shift-click for a range), then Share.',
    status: { processing: 'Processing', ready: 'Ready', failed: 'Failed', uploaded: 'Waiting' },
    photo: (name: string) => `Photo ${name}`,
  },
  createLink: {
    title: 'Create Shared Link',
    forSelection: (n: number) => (n === 1 ? 'Individual link to 1 photo' : `Individual link to ${n} photos`),
    description: 'Description',
    expires: 'Expires',
    expiry: {
      never: 'Never',
      m30: '30 minutes',
      h1: '1 hour',
      h6: '6 hours',
      d1: '1 day',
      d7: '7 days',
      d30: '30 days',
      mo3: '3 months',
      y1: '1 year',
    },
    allowDownload: 'Allow Download',
    allowUpload: 'Allow Upload',
    allowUploadHint: 'Only album links can receive uploads.',
    showMetadata: 'Show Metadata',
    password: 'Password',
    passwordHint: 'Optional. Recipients must enter it.',
    customUrl: 'Custom URL',
    customUrlHint: '3–40 letters, digits, - or _. Leave empty for a random link.',
    slugChecking: 'Checking…',
    slugAvailable: 'Available',
    slugTaken: 'Already taken',
    create: 'Create Link',
    cancel: 'Cancel',
    done: 'Done',
    created: 'Link created',
    copy: 'Copy',
    copied: 'Copied',
    share: 'Share',
    qr: 'QR code of the link',
    failed: 'The link could not be created',
  },
} as const;

export type ConsoleStrings = typeof en;
