import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, pickLocale } from '../src/views/i18n/index.ts';
import { addPhoto, harnessStorage, launchChromium, listen, screenshot, seriousViolations } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §7: the share page speaks the browser's language (Accept-Language → one catalogue per language), with
 * dates and counts through Intl; the bundle's own strings (tile labels, "3 selected", Play) follow.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = [];
  for (let i = 0; i < 3; i++) photos.push(await addPhoto(h, storage, i));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await storage?.close();
});

async function albumLink() {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Vacances' },
  );
  return h.createLink({ albumId });
}

describe('language', () => {
  it('should pick the best catalogue from Accept-Language', () => {
    expect(pickLocale('fr-CH, fr;q=0.9, en;q=0.8')).toBe('fr');
    expect(pickLocale('de;q=0.5, ja;q=0.9')).toBe('ja');
    expect(pickLocale('xx, zh-Hans-CN;q=0.7')).toBe('zh');
    expect(pickLocale('pt-BR;q=0, es')).toBe('es');
    expect(pickLocale('klingon')).toBe('en');
    expect(pickLocale(undefined)).toBe('en');
    expect(pickLocale('q=;;,,;q=abc')).toBe('en');
    // every catalogue has every key (the compiler checks it too), none left empty
    for (const [lang, messages] of Object.entries(CATALOGUES)) {
      expect(Object.keys(messages).sort(), lang).toEqual(Object.keys(CATALOGUES.en).sort());
      expect(
        Object.values(messages).every((v) => v.trim().length > 0),
        lang,
      ).toBe(true);
    }
  });

  it('should give French strings, dates and counts for Accept-Language: fr (Chromium)', async () => {
    const link = await albumLink();
    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
      await page.goto(`${baseUrl}/share/${link.key}`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      expect(await page.getAttribute('html', 'lang')).toBe('fr');
      expect(await page.textContent('.share-count')).toBe('3 photos et vidéos');
      expect(await page.textContent('#download-all')).toBe('Tout télécharger');
      expect(await page.textContent('#slideshow-start')).toBe('▶ Diaporama');
      expect(await page.getAttribute('#grid li.tile a[data-index="0"] img.tile-thumb', 'alt')).toBe('Photo 1 sur 3');
      await page.hover('#grid li.tile a[data-index="0"]');
      await page.click('#grid li.tile input.tile-check');
      expect(await page.textContent('#selection-count')).toBe('1 sélectionnée');
      await page.click('#select-all');
      expect(await page.textContent('#selection-count')).toBe('3 sélectionnées');
      await page.click('#select-none');
      await page.click('#grid li.tile a[data-index="0"]');
      await page.waitForSelector('#viewer', { state: 'visible' });
      expect(await page.textContent('#viewer-download')).toBe('Télécharger');
      expect(await page.textContent('#slideshow-toggle')).toBe('Lecture');
      const fields = await page.$$eval('#viewer-meta-fields dt', (dts) => dts.map((d) => d.textContent));
      expect(fields).toContain('Appareil');
      // the date through Intl, in French
      expect(await page.textContent('#viewer-meta-fields')).toMatch(/juil\. 2026/);
      await screenshot(page, 'language-fr-viewer');
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('should translate the password, not-found and expired pages, and say the answer varies with the language', async () => {
    const link = await albumLink();
    const ja = await h.app.inject({ url: `/share/${link.key}`, headers: { 'accept-language': 'ja,en;q=0.5' } });
    expect(ja.headers.vary).toContain('accept-language');
    expect(ja.body).toContain('<html lang="ja">');
    expect(ja.body).toContain('写真・動画 3 件');
    const locked = await h.createLink({ assetIds: [photos[0]!.id], password: 'secret pass' });
    const de = await h.app.inject({ url: `/share/${locked.key}`, headers: { 'accept-language': 'de-DE' } });
    expect(de.statusCode).toBe(401);
    expect(de.body).toContain('Passwort erforderlich');
    const missing = await h.app.inject({ url: '/share/no-such-link', headers: { 'accept-language': 'es' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('Enlace no encontrado');
    const expired = await h.createLink({
      assetIds: [photos[0]!.id],
      expiresAt: new Date(Date.UTC(2026, 10, 27, 12)),
    });
    const fr = await h.app.inject({ url: `/share/${expired.key}`, headers: { 'accept-language': 'fr' } });
    expect(fr.statusCode).toBe(410);
    expect(fr.body).toContain('Ce lien a expiré le <time datetime="2026-11-27T12:00:00.000Z">27 novembre 2026</time>');
    const en = await h.app.inject(`/share/${expired.key}`);
    expect(en.body).toContain('This link expired on <time datetime="2026-11-27T12:00:00.000Z">27 November 2026</time>');
  });
});
