// Prints the configuration table of the README from the contracts' config schemas (one source of truth).
import { allEnvGroups } from '@immish/contracts';

const usedBy: Record<string, string> = {
  CoreEnv: 'all',
  StorageEnv: 'all',
  HttpEnv: 'links-api, share-gateway',
  ExportRequestEnv: 'links-api, share-gateway',
  LinksApiEnv: 'links-api',
  GatewayEnv: 'share-gateway',
  BackgroundWorkerEnv: 'ingest-worker, export-worker, webhook-worker',
  IngestWorkerEnv: 'ingest-worker',
  ExportWorkerEnv: 'export-worker',
  WebhookEnv: 'links-api, webhook-worker',
  WebhookWorkerEnv: 'webhook-worker',
};
const seen = new Set<string>();
const rows = ['| variable | default | used by | meaning |', '|---|---|---|---|'];
for (const [group, schema] of Object.entries(allEnvGroups)) {
  for (const [name, prop] of Object.entries(
    schema.properties as Record<string, { default?: unknown; description?: string }>,
  )) {
    if (seen.has(name)) continue;
    seen.add(name);
    const def =
      prop.default === undefined ? '*(required)*' : prop.default === '' ? '*(empty)*' : `\`${String(prop.default)}\``;
    rows.push(`| \`${name}\` | ${def} | ${usedBy[group]} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
  }
}
console.log(rows.join('\n'));
