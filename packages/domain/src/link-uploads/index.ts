// Guest-upload moderation (issue 19 item 3): the owner's review queue of a link with `uploadReview`.
export { countPendingUploads } from './queries.ts';
export {
  approveLinkUploads,
  expirePendingUploads,
  type LinkUploadCaller,
  listLinkUploads,
  rejectLinkUploads,
} from './service.ts';
