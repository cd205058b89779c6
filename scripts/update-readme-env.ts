// `npm run docs:env`: rewrites the configuration table in README.md from the contracts.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const table = execFileSync(process.execPath, ['scripts/env-table.ts'], { encoding: 'utf8' }).trim();
const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(
  /<!-- env-table:start -->[\s\S]*<!-- env-table:end -->/,
  `<!-- env-table:start -->\n${table}\n<!-- env-table:end -->`,
);
writeFileSync('README.md', next);
