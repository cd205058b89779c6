import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import * as initial from './migrations/2026-11-27T0900_initial.ts';
import * as uploadBatchReceiving from './migrations/2026-11-27T1040_upload_batch_receiving.ts';
import * as exportHiddenMetadata from './migrations/2026-11-28T0900_export_hidden_metadata.ts';
import * as linkUploadOrigin from './migrations/2026-11-28T0900_link_upload_origin.ts';
import * as exportClientKey from './migrations/2026-11-28T0910_export_client_key.ts';
import * as sessions from './migrations/2026-12-05T0800_sessions.ts';
import * as phoneFormats from './migrations/2026-12-05T0900_phone_formats.ts';
import * as webhooks from './migrations/2026-12-06T0900_webhooks.ts';
import * as activity from './migrations/2026-12-06T1000_activity.ts';
import * as linkLimits from './migrations/2026-12-07T0900_link_limits.ts';
import * as linkUploadReview from './migrations/2026-12-07T0930_link_upload_review.ts';
import * as webhookDeliveryPages from './migrations/2026-12-08T0900_webhook_delivery_pages.ts';
import * as outboxNotifyWriter from './migrations/2026-12-08T1000_outbox_notify_writer.ts';

/** The ordered list of migrations (explicit imports: no directory scanning at run time). */
const migrations: Record<string, Migration> = {
  '2026-11-27T0900_initial': initial,
  '2026-11-27T1040_upload_batch_receiving': uploadBatchReceiving,
  '2026-11-28T0900_link_upload_origin': linkUploadOrigin,
  '2026-11-28T0900_export_hidden_metadata': exportHiddenMetadata,
  '2026-11-28T0910_export_client_key': exportClientKey,
  '2026-12-05T0800_sessions': sessions,
  '2026-12-05T0900_phone_formats': phoneFormats,
  '2026-12-06T0900_webhooks': webhooks,
  '2026-12-06T1000_activity': activity,
  '2026-12-07T0900_link_limits': linkLimits,
  '2026-12-07T0930_link_upload_review': linkUploadReview,
  '2026-12-08T0900_webhook_delivery_pages': webhookDeliveryPages,
  '2026-12-08T1000_outbox_notify_writer': outboxNotifyWriter,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export interface MigrationOutcome {
  applied: string[];
}

/** Runs every pending migration forward. Safe to run concurrently (kysely takes a lock) and repeatedly. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
