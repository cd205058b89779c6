// `npm start` shows people one readable line per log event; the services themselves always write JSON lines
// (what production log collectors read). Decision: a small formatter of our own rather than pino-pretty: the
// multiplexer formats every line of four services in one process, so it must stay cheap (one JSON.parse and a
// few concatenations per line) and must never become what slows the services down (README "Running in
// production", logs).

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[41m'],
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** fields every line has, or that the line's own layout already shows */
const SHOWN = new Set([
  'level',
  'time',
  'service',
  'msg',
  'pid',
  'hostname',
  'reqId',
  'method',
  'url',
  'status',
  'ms',
  'route',
  'err',
]);

function time(value: unknown): string {
  if (typeof value === 'string' && value.length >= 23) return value.slice(11, 23); // ISO: HH:MM:SS.mmm
  if (typeof value === 'number') return new Date(value).toISOString().slice(11, 23);
  return '';
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * One JSON log line → `HH:MM:SS.mmm LEVEL label | message key=value …` (an access line: `GET /url 200 3.1ms`;
 * an error: its message, its stack's first frame). A line that is not JSON (a crash's stderr) passes unchanged
 * after the label.
 */
export function formatLogLine(line: string, label: string, color: boolean): string {
  if (!line.startsWith('{')) return `${label} ${line}`;
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${label} ${line}`;
  }
  const [name, tint] = LEVELS[event.level as number] ?? ['     ', ''];
  let message = typeof event.msg === 'string' ? event.msg : '';
  if (message === 'request' && event.method !== undefined) {
    message = `${event.method} ${event.url ?? event.route} ${event.status} ${event.ms}ms`;
  }
  const extras: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (!SHOWN.has(key) && value !== undefined) extras.push(`${key}=${scalar(value)}`);
  }
  const err = event.err as { message?: string; stack?: string } | undefined;
  if (err?.message) {
    const frame = err.stack?.split('\n').find((l) => l.trimStart().startsWith('at '));
    extras.push(`err=${scalar(err.message)}${frame ? ` (${frame.trim()})` : ''}`);
  }
  const rest = extras.length > 0 ? ` ${extras.join(' ')}` : '';
  if (!color) return `${time(event.time)} ${name} ${label} ${message}${rest}`;
  return `${DIM}${time(event.time)}${RESET} ${tint}${name}${RESET} ${label} ${message}${DIM}${rest}${RESET}`;
}
