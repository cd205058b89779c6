import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README.md', () => {
  it('should document every configuration variable exactly as the contracts define it (npm run docs:env)', () => {
    const table = execFileSync(process.execPath, ['scripts/env-table.ts'], { encoding: 'utf8' }).trim();
    const readme = readFileSync('README.md', 'utf8');
    const current = /<!-- env-table:start -->\n([\s\S]*)\n<!-- env-table:end -->/.exec(readme)?.[1];
    expect(current).toBe(table);
  });

  it('should give the two quick-start commands', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});
