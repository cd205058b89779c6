import { spawn } from 'node:child_process';
import { MediaError } from './errors.ts';

/**
 * The one place that runs external programs (ffmpeg, ffprobe, heif-convert, exiftool). Without a shell (arguments
 * are never parsed by one, so a file name cannot inject anything), with bounded output (a tool that prints without
 * end cannot fill the worker's memory), killed on timeout or abort (a crafted file that makes a decoder spin cannot
 * hold a job forever).
 */
export interface RunToolOptions {
  /** Killed (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  /** Most stdout bytes kept; beyond it the tool is killed and the call fails. Default 16 MiB. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /** Called with each stdout chunk instead of keeping it (progress output of a long run); `maxOutputBytes` is then not applied. */
  onStdout?: (chunk: Buffer) => void;
}

export interface ToolResult {
  stdout: Buffer;
  /** The last few KiB of stderr, for messages. */
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const STDERR_TAIL_BYTES = 4096;

/**
 * A tool that could not do its job. `code` CORRUPT when it exited with an error (the input's fault as far as we can
 * tell: decoders exit non-zero on files they cannot read); a tool that is missing, timed out or was aborted is not
 * the file's fault and is a plain `ToolError` (the caller retries or reports).
 */
export class ToolError extends Error {
  readonly tool: string;
  readonly reason: 'missing' | 'timeout' | 'aborted' | 'output-limit';
  constructor(tool: string, reason: ToolError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
    this.tool = tool;
    this.reason = reason;
  }
}

export function runTool(cmd: string, args: readonly string[], options: RunToolOptions = {}): Promise<ToolResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  return new Promise<ToolResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ToolError(cmd, 'aborted', `${cmd} was not started: aborted`));
      return;
    }
    const child = spawn(cmd, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errTail = '';
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(new ToolError(cmd, 'timeout', `${cmd} took longer than ${timeoutMs} ms and was stopped`)),
      timeoutMs,
    );
    const onAbort = () => stop(new ToolError(cmd, 'aborted', `${cmd} was aborted`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.onStdout) {
        options.onStdout(chunk);
        return;
      }
      outBytes += chunk.length;
      if (outBytes > maxOutputBytes) {
        stop(new ToolError(cmd, 'output-limit', `${cmd} wrote more than ${maxOutputBytes} bytes`));
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errTail = (errTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      failure ??=
        error.code === 'ENOENT'
          ? new ToolError(cmd, 'missing', `${cmd} is not installed (see the README's requirements)`, { cause: error })
          : error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else if (code !== 0)
        reject(
          new MediaError('CORRUPT', `${cmd} could not read the file: ${lastLine(errTail) || `exit ${code ?? signal}`}`),
        );
      else resolve({ stdout: Buffer.concat(out), stderr: errTail });
    });
  });
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? '';
}

/** Which external decoders this machine has (version strings; null when missing). Detected once per process. */
export interface MediaTools {
  ffmpeg: string | null;
  ffprobe: string | null;
  heifConvert: string | null;
}

export const NO_MEDIA_TOOLS: MediaTools = Object.freeze({ ffmpeg: null, ffprobe: null, heifConvert: null });

/**
 * Runs each tool's version command once. The composition root calls this at start-up, logs it and reports it in
 * readiness; a missing tool degrades to today's placeholders for that format instead of failing every file.
 */
export async function detectMediaTools(): Promise<MediaTools> {
  const version = async (cmd: string, args: string[], pattern: RegExp): Promise<string | null> => {
    try {
      const { stdout, stderr } = await runTool(cmd, args, { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024 });
      const match = pattern.exec(`${stdout.toString('utf8')}\n${stderr}`);
      return match?.[1] ?? 'unknown';
    } catch (error) {
      // heif-convert has no --version: with no arguments it prints its usage (with the version) and exits 1
      if (error instanceof MediaError) return 'unknown';
      return null;
    }
  };
  const [ffmpeg, ffprobe, heifConvert] = await Promise.all([
    version('ffmpeg', ['-hide_banner', '-version'], /ffmpeg version (\S+)/),
    version('ffprobe', ['-hide_banner', '-version'], /ffprobe version (\S+)/),
    heifConvertVersion(),
  ]);
  return { ffmpeg, ffprobe, heifConvert };
}

async function heifConvertVersion(): Promise<string | null> {
  // `--help` exits 0 on some libheif versions and 1 on others; the version is in the first line either way.
  return new Promise((resolve) => {
    const child = spawn('heif-convert', ['--help'], { shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(/libheif version:?\s*(\S+)/.exec(text)?.[1] ?? (text ? 'unknown' : null));
    });
  });
}
