import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../scripts/pretty-log.ts';

// `npm start` turns the services' JSON lines into one readable line each (issue 17 item 2).
describe('npm start log lines', () => {
  const access = JSON.stringify({
    level: 30,
    time: '2026-12-05T11:02:03.456Z',
    service: 'share-gateway',
    reqId: 'abc',
    method: 'GET',
    route: '/share/:key',
    url: '/share/[redacted]',
    status: 200,
    ms: 3.2,
    msg: 'request',
  });

  it('should show an access line as time, level, label, method, url, status and duration, on one line', () => {
    expect(formatLogLine(access, 'share-gateway |', false)).toBe(
      '11:02:03.456 INFO  share-gateway | GET /share/[redacted] 200 3.2ms',
    );
  });

  it('should keep other fields as key=value and an error as its message and first frame', () => {
    const line = JSON.stringify({
      level: 50,
      time: '2026-12-05T11:02:03.456Z',
      service: 'ingest-worker',
      msg: 'job failed',
      jobId: 'j 1',
      err: { message: 'disk full', stack: 'Error: disk full\n    at write (file.ts:1:2)\n    at more' },
    });
    const out = formatLogLine(line, 'ingest-worker |', false);
    expect(out).toBe(
      '11:02:03.456 ERROR ingest-worker | job failed jobId="j 1" err="disk full" (at write (file.ts:1:2))',
    );
    expect(out).not.toContain('\n');
  });

  it('should colour only when asked, and pass lines that are not JSON through unchanged', () => {
    expect(formatLogLine(access, 'gw |', true)).toContain('\x1b[32mINFO');
    expect(formatLogLine(access, 'gw |', false)).not.toContain('\x1b[');
    expect(formatLogLine('node:internal/process… crash', 'gw |', true)).toBe('gw | node:internal/process… crash');
    expect(formatLogLine('{not json', 'gw |', false)).toBe('gw | {not json');
  });
});
