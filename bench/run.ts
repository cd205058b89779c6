// `npm run bench`: runs every `bench/*.bench.ts` in its own process (one at a time, so they don't compete for
// the 2 cores), streams their output, and writes bench/results.md with the figures and the machine they ran on
// (a whole run only: `npm run bench -- <names>` runs the files whose names contain one of them and writes nothing).
// Benchmarks are not tests: they print figures and ratios to a baseline measured in the same run; nothing here fails CI.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const only = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const sections: string[] = [];
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const started = Date.now();
  const out: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [`bench/${file}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (b: Buffer) => {
      process.stdout.write(b);
      out.push(b.toString());
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  sections.push(`## ${file}\n\nexit ${code}, ${secs} s\n\n${out.join('').trim()}\n`);
}
if (only.length > 0) {
  // a partial run (`npm run bench -- gateway`) never replaces the record of a whole run
  console.log('\npartial run: bench/results.md (the record of a whole run) left as it is');
  process.exit(0);
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
writeFileSync(
  'bench/results.md',
  `# Benchmark results\n\nCommand: \`npm run bench\` — ${new Date().toISOString()}\n\nMachine: ${machine}\n\n${sections.join('\n')}`,
);
console.log('\nwrote bench/results.md');
