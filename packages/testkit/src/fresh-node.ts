import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Runs an ES module `script` in a fresh Node process started in `cwd` (where its imports resolve; `args` are its
 * `process.argv[1…]`) and parses the JSON it writes on stdout: for what only a process that starts clean can show,
 * such as which modules a service loads or which child processes it leaves running (a test process has loaded and
 * started plenty already).
 */
export async function runInFreshNode<T>(
  script: string,
  opts: { cwd: string; args?: readonly string[]; timeoutMs?: number },
): Promise<T> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script, ...(opts.args ?? [])],
    { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000 },
  );
  return JSON.parse(stdout) as T;
}
