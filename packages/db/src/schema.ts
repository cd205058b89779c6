import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Timestamps: written as Date or ISO string, read as Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** bigint columns come back from pg as strings; the repositories convert. */
type BigIntColumn = ColumnType<string, number | bigint | string, number | bigint | string>;
type BigIntDefault = ColumnType<string, number | bigint | string | undefined, number | bigint | string>;

export type AssetType = 'IMAGE' | 'VIDEO' | 'OTHER';
export type AssetStatus = 'uploaded' | 'processing' | 'ready' | 'failed';
/** Where an asset came from: the owner's library (their own uploads) or an upload through a shared link. */
export type AssetOrigin = 'library' | 'shared-link';
export type AssetVisibility = 'timeline' | 'hidden';
export type RenditionStatus = 'queued' | 'running' | 'ready' | 'failed';
export type AlbumRole = 'owner' | 'editor' | 'viewer';
export type SharedLinkType = 'ALBUM' | 'INDIVIDUAL';
export type UploadItemStatus = 'receiving' | 'stored' | 'processing' | 'ready' | 'duplicate' | 'failed';
export type UploadBatchStatus = 'processing' | 'completed';
export type ExportStatus = 'queued' | 'running' | 'ready' | 'failed' | 'expired';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  is_admin: Generated<boolean>;
  quota_bytes: BigIntColumn | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  deleted_at: Timestamp | null;
}

export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  key_hash: string;
  permissions: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  last_used_at: Timestamp | null;
}

/** Login sessions (owner console, Immich clients): the token's SHA-256, never the token. */
export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  device_type: Generated<string>;
  device_os: Generated<string>;
  app_version: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  expires_at: Timestamp;
  absolute_expires_at: Timestamp;
}

export interface AssetsTable {
  id: Generated<string>;
  owner_id: string;
  type: AssetType;
  original_file_name: string;
  mime_type: Generated<string>;
  size: BigIntDefault;
  checksum: Buffer;
  original_key: string;
  thumbnail_key: string | null;
  preview_key: string | null;
  width: number | null;
  height: number | null;
  thumbhash: Buffer | null;
  file_created_at: CreatedAt;
  file_modified_at: CreatedAt;
  local_date_time: CreatedAt;
  duration: string | null;
  device_asset_id: string | null;
  device_id: string | null;
  is_favorite: Generated<boolean>;
  exif_make: string | null;
  exif_model: string | null;
  exif_lens_model: string | null;
  exif_exposure_time: string | null;
  exif_f_number: number | null;
  exif_focal_length: number | null;
  exif_iso: number | null;
  exif_date_time_original: Timestamp | null;
  exif_latitude: number | null;
  exif_longitude: number | null;
  exif_orientation: number | null;
  exif_description: string | null;
  status: ColumnType<AssetStatus, AssetStatus | undefined, AssetStatus>;
  error: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  trashed_at: Timestamp | null;
  /** unique (owner_id, checksum) holds for 'library' assets only: a link upload is always its own asset */
  origin: ColumnType<AssetOrigin, AssetOrigin | undefined, AssetOrigin>;
  /** 'hidden': the motion part of a Live Photo, kept but shown only through its still (Immich's visibility) */
  visibility: ColumnType<AssetVisibility, AssetVisibility | undefined, AssetVisibility>;
  /** the still's paired motion video (Immich's livePhotoVideoId) */
  live_photo_video_id: string | null;
  /** Apple's Live Photo content identifier, the pairing key */
  live_photo_cid: string | null;
  video_codec: string | null;
  /** the web-playable H.264/AAC MP4 beside the original, once made */
  rendition_key: string | null;
  rendition_status: RenditionStatus | null;
  rendition_progress: number | null;
  rendition_error: string | null;
}

export interface AlbumsTable {
  id: Generated<string>;
  owner_id: string;
  name: string;
  description: Generated<string>;
  thumbnail_asset_id: string | null;
  is_activity_enabled: Generated<boolean>;
  sort_order: ColumnType<'asc' | 'desc', 'asc' | 'desc' | undefined, 'asc' | 'desc'>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  deleted_at: Timestamp | null;
}

export interface AlbumAssetsTable {
  album_id: string;
  asset_id: string;
  added_by: string | null;
  added_at: CreatedAt;
}

export interface AlbumUsersTable {
  album_id: string;
  user_id: string;
  role: AlbumRole;
  added_at: CreatedAt;
}

export interface SharedLinksTable {
  id: Generated<string>;
  owner_id: string;
  type: SharedLinkType;
  album_id: string | null;
  key: string;
  slug: string | null;
  description: string | null;
  password_hash: string | null;
  password_version: Generated<number>;
  expires_at: Timestamp | null;
  allow_download: Generated<boolean>;
  allow_upload: Generated<boolean>;
  /** issue 19: uploads through the link wait for the owner's review (link_uploads) */
  upload_review: Generated<boolean>;
  /** issue 19: the link's byte budget for uploads (null = none) and what it has taken */
  max_upload_bytes: BigIntColumn | null;
  upload_bytes: BigIntDefault;
  show_metadata: Generated<boolean>;
  view_count: BigIntDefault;
  download_count: BigIntDefault;
  upload_count: BigIntDefault;
  last_accessed_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  /** limited links (migration 2026-12-07T0900): caps (null = none) and what of each has been used */
  max_visits: number | null;
  max_downloads: number | null;
  max_uploads: number | null;
  visits_used: Generated<number>;
  downloads_used: Generated<number>;
  uploads_used: Generated<number>;
}

export interface SharedLinkAssetsTable {
  link_id: string;
  asset_id: string;
  added_at: CreatedAt;
}

export interface UploadBatchesTable {
  id: Generated<string>;
  owner_id: string;
  uploaded_by_user_id: string | null;
  shared_link_id: string | null;
  album_id: string | null;
  status: ColumnType<UploadBatchStatus, UploadBatchStatus | undefined, UploadBatchStatus>;
  /** true while the upload request is still delivering files (the batch cannot complete before) */
  receiving: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  completed_at: Timestamp | null;
}

export interface UploadItemsTable {
  id: Generated<string>;
  batch_id: string;
  position: number;
  file_name: string;
  size: BigIntColumn | null;
  status: ColumnType<UploadItemStatus, UploadItemStatus | undefined, UploadItemStatus>;
  error: string | null;
  asset_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface ExportPartRecord {
  index: number;
  fileName: string;
  size: number;
  storageKey: string;
  entryCount: number;
}

export interface ExportOptionsRecord {
  maxPartSize?: number;
  /**
   * Legacy (rows requested before `hides_metadata` existed): names entries `<asset id>.<ext>`. The worker
   * treats it as `hides_metadata`; new rows do not write it.
   */
  anonymizeNames?: boolean;
}

/** An asset of a metadata-hiding export replaced by its preview or left out (the `ExportSubstitution` contract). */
export interface ExportSubstitutionRecord {
  assetId: string;
  reason: 'not-strippable' | 'unreadable';
  substitute: 'preview' | 'omitted';
}

export interface ExportsTable {
  id: Generated<string>;
  requested_by_user_id: string | null;
  shared_link_id: string | null;
  album_id: string | null;
  asset_ids: string[];
  options: ColumnType<ExportOptionsRecord, string, string>;
  content_hash: string;
  archive_name: string;
  status: ColumnType<ExportStatus, ExportStatus | undefined, ExportStatus>;
  bytes_done: BigIntDefault;
  bytes_total: BigIntDefault;
  parts: ColumnType<ExportPartRecord[], string | undefined, string>;
  attempts: Generated<number>;
  error: string | null;
  expires_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  completed_at: Timestamp | null;
  /** built (or to be built) without metadata: entries stripped, named by asset id (links with showMetadata=false) */
  hides_metadata: Generated<boolean>;
  substitutions: ColumnType<ExportSubstitutionRecord[], string | undefined, string>;
  /** the client that asked through a link (address, IPv6 by /64), kept only while queued or running (caps) */
  client_key: string | null;
}

export interface OutboxEventsTable {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: ColumnType<unknown, string, string>;
  occurred_at: CreatedAt;
  published_at: Timestamp | null;
  attempts: Generated<number>;
  last_error: string | null;
}

/** An owner's webhook endpoint (issue 18). `secret_sealed`: the signing secret, encrypted (domain webhooks/secrets.ts). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  owner_id: string;
  url: string;
  description: Generated<string>;
  events: string[];
  enabled: Generated<boolean>;
  concurrency: Generated<number>;
  secret_sealed: string;
  disabled_reason: string | null;
  disabled_at: Timestamp | null;
  failing_since: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One event to one endpoint; `body` is the exact JSON sent on every attempt. */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  attempt_count: Generated<number>;
  next_attempt_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  attempt: number;
  at: CreatedAt;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  response_snippet: Generated<string>;
}

export type LinkActivityAction =
  | 'visit'
  | 'unlock'
  | 'unlock-failed'
  | 'unlock-throttled'
  | 'download-original'
  | 'export-requested'
  | 'export-ready'
  | 'export-downloaded'
  | 'upload';

/** One recipient action on a link (issue 18 item 1). `client_net`: truncated address or keyed hash, never a full IP. */
export interface LinkActivityTable {
  id: Generated<string>;
  link_id: string;
  at: CreatedAt;
  action: LinkActivityAction;
  asset_id: string | null;
  export_id: string | null;
  client_net: Generated<string>;
  browser: Generated<string>;
  os: Generated<string>;
  bot: Generated<boolean>;
  visit_key: string | null;
}

export type LinkUploadStatus = 'pending' | 'approved' | 'rejected';

/** An upload through a link with `upload_review` (issue 19 item 3): pending until the owner decides. */
export interface LinkUploadsTable {
  link_id: string;
  asset_id: string;
  status: ColumnType<LinkUploadStatus, LinkUploadStatus | undefined, LinkUploadStatus>;
  bytes: BigIntColumn;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  assets: AssetsTable;
  albums: AlbumsTable;
  album_assets: AlbumAssetsTable;
  album_users: AlbumUsersTable;
  shared_links: SharedLinksTable;
  shared_link_assets: SharedLinkAssetsTable;
  upload_batches: UploadBatchesTable;
  upload_items: UploadItemsTable;
  exports: ExportsTable;
  outbox_events: OutboxEventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  link_activity: LinkActivityTable;
  link_uploads: LinkUploadsTable;
}

export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
export type LinkActivityRow = Selectable<LinkActivityTable>;
export type LinkUploadRow = Selectable<LinkUploadsTable>;
export type NewLinkActivity = Insertable<LinkActivityTable>;

export type UserRow = Selectable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type SessionRow = Selectable<SessionsTable>;
export type AssetRow = Selectable<AssetsTable>;
export type NewAsset = Insertable<AssetsTable>;
export type AssetUpdate = Updateable<AssetsTable>;
export type AlbumRow = Selectable<AlbumsTable>;
export type AlbumUserRow = Selectable<AlbumUsersTable>;
export type SharedLinkRow = Selectable<SharedLinksTable>;
export type UploadBatchRow = Selectable<UploadBatchesTable>;
export type UploadItemRow = Selectable<UploadItemsTable>;
export type ExportRow = Selectable<ExportsTable>;
export type OutboxEventRow = Selectable<OutboxEventsTable>;
