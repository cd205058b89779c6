import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CONSOLE_SCREENSHOT_DIR = join(repoRoot, 'test-results', 'screenshots', 'console');

/** Saves a full-page screenshot of the console as a test artifact (test-results/ is gitignored). */
export async function consoleScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(CONSOLE_SCREENSHOT_DIR, { recursive: true });
  const path = join(CONSOLE_SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
