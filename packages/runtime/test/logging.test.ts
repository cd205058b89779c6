import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { boundLogger, createHttpApp, createLogger } from '../src/index.ts';

// Issue 17 item 2: one access-log line per request, written asynchronously, never a stall.

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, destination };
}

async function appWith(accessLog: boolean | undefined) {
  const { lines, destination } = capture();
  const logger = createLogger({ service: 'test', level: 'info', destination });
  const app = createHttpApp({ logger, ...(accessLog === undefined ? {} : { accessLog }) });
  app.get('/things/:id', async () => ({ ok: true }));
  app.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }));
  await app.ready();
  return { app, lines };
}

describe('access log', () => {
  it('should write exactly one line per request, on completion, with method, route, status, duration and id', async () => {
    const { app, lines } = await appWith(undefined);
    try {
      const ok = await app.inject({
        url: '/things/42?key=secret-link-key',
        headers: { 'x-correlation-id': 'corr-1234' },
      });
      const missing = await app.inject({ url: '/nowhere' });
      expect([ok.statusCode, missing.statusCode]).toEqual([200, 404]);
      const requests = lines.filter((l) => l.msg === 'request');
      expect(requests).toHaveLength(2);
      expect(requests[0]).toMatchObject({
        method: 'GET',
        route: '/things/:id',
        url: '/things/42?key=[redacted]',
        status: 200,
        reqId: 'corr-1234',
        service: 'test',
      });
      expect(typeof requests[0]?.ms).toBe('number');
      expect(requests[1]).toMatchObject({ route: 'unmatched', status: 404 });
      // fastify's own two lines per request are gone
      expect(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
      expect(JSON.stringify(lines)).not.toContain('secret-link-key');
    } finally {
      await app.close();
    }
  });

  it("should give each request's own log lines its id, with the service logger's redaction and level", async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'test', level: 'info', destination });
    const app = createHttpApp({ logger, accessLog: false });
    app.get('/log', async (req) => {
      req.log.info({ password: 'hunter2', what: 'kept' }, 'inside');
      req.log.debug('below the level');
      return { ok: true };
    });
    await app.ready();
    try {
      await app.inject({ url: '/log', headers: { 'x-correlation-id': 'first-request' } });
      await app.inject({ url: '/log', headers: { 'x-correlation-id': 'second-request' } });
      const inside = lines.filter((l) => l.msg === 'inside');
      expect(inside.map((l) => l.reqId)).toEqual(['first-request', 'second-request']);
      expect(inside[0]).toMatchObject({ service: 'test', what: 'kept', password: '[redacted]' });
      expect(lines.filter((l) => l.msg === 'below the level')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it("should write a bound logger's identifiers as JSON: strings quoted and escaped, numbers as numbers", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'test', level: 'info', destination });
    const job = boundLogger(logger, { queue: 'ingest', jobId: 'a"b', attempt: 2, correlationId: undefined });
    job.info({ token: 'tok-1' }, 'job line');
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        expect(lines.find((l) => l.msg === 'job line')).toEqual(
          expect.objectContaining({ service: 'test', queue: 'ingest', jobId: 'a"b', attempt: 2, token: '[redacted]' }),
        );
        expect(lines.find((l) => l.msg === 'job line')).not.toHaveProperty('correlationId');
        resolve();
      });
    });
  });

  it('should write none when ACCESS_LOG is off, or for a route logging at warn', async () => {
    const off = await appWith(false);
    const on = await appWith(true);
    try {
      await off.app.inject({ url: '/things/1' });
      await on.app.inject({ url: '/quiet' });
      expect(off.lines.filter((l) => l.msg === 'request')).toEqual([]);
      expect(on.lines.filter((l) => l.msg === 'request')).toEqual([]);
      await on.app.inject({ url: '/things/1' });
      expect(on.lines.filter((l) => l.msg === 'request')).toHaveLength(1);
    } finally {
      await Promise.all([off.app.close(), on.app.close()]);
    }
  });
});

describe('the default destination (stdout, asynchronous)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'immish-logging-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const loggerUrl = new URL('../src/logger.ts', import.meta.url).href;

  /** Runs a script in its own Node process; `read` decides when the test starts reading its stdout. */
  function runScript(body: string, options: { readAfterMs?: number } = {}) {
    const file = join(dir, `script-${Math.random().toString(36).slice(2)}.ts`);
    writeFileSync(file, `import { createLogger } from ${JSON.stringify(loggerUrl)};\n${body}\n`);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const chunks: Buffer[] = [];
    const startReading = () => child.stdout.on('data', (d: Buffer) => chunks.push(d));
    if (options.readAfterMs === undefined) startReading();
    else child.stdout.pause();
    const done = new Promise<{ code: number | null; lines: string[]; stderr: string }>((resolve) => {
      child.on('close', (code) =>
        resolve({ code, stderr, lines: Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean) }),
      );
    });
    const received = () => Buffer.concat(chunks).toString('utf8');
    return { child, done, startReading, received };
  }

  it('should keep every line written before process.exit', async () => {
    const { done } = runScript(`
      const log = createLogger({ service: 'exit-test', level: 'info' });
      for (let i = 0; i < 20000; i++) log.info({ i }, 'line');
      process.exit(0);
    `);
    const { code, lines, stderr } = await done;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines).toHaveLength(20000);
    expect(JSON.parse(lines[19999] as string)).toMatchObject({ i: 19999, service: 'exit-test' });
  }, 60_000);

  it('should drop lines rather than block when stdout does not drain, and say how many it dropped', async () => {
    // The script logs ~40 MB while nobody reads its stdout, then proves its event loop was never blocked by
    // answering a timer, and signals the test through a file; the test starts reading and says so through a
    // second file once the drained service has said how many lines it dropped; the script logs one more line and exits.
    const flag = join(dir, 'flooded');
    const go = join(dir, 'reading');
    const { done, child, startReading, received } = runScript(
      `
      import { existsSync, writeFileSync } from 'node:fs';
      const log = createLogger({ service: 'flood', level: 'info' });
      const filler = 'x'.repeat(1000);
      for (let i = 0; i < 40000; i++) log.info({ i, filler }, 'flood');
      await new Promise((r) => setTimeout(r, 10));
      writeFileSync(${JSON.stringify(flag)}, 'ok');
      while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 10));
      log.info('after the flood');
      process.exit(0);
    `,
      { readAfterMs: 0 },
    );
    for (let waited = 0; !existsSync(flag); waited += 20) {
      if (waited > 60_000 || child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(existsSync(flag)).toBe(true); // the loop ran its timer while stdout was full: not blocked
    startReading();
    child.stdout.resume();
    // once the buffer has drained, the service says how many lines it lost; then it may go on
    for (let waited = 0; !received().includes('log lines dropped'); waited += 20) {
      if (waited > 60_000 || child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(go, 'ok');
    const { code, lines, stderr } = await done;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string });
    const floodLines = parsed.filter((l) => l.msg === 'flood').length;
    expect(floodLines).toBeLessThan(40000);
    const notices = parsed.filter((l) => /log lines dropped/.test(l.msg));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.reduce((sum, l) => sum + Number(l.msg.split(' ')[0]), 0)).toBe(40000 - floodLines);
    expect(parsed.at(-1)?.msg).toBe('after the flood');
  }, 90_000);
});
