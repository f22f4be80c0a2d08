// The benchmark runner's option handling (not its timings): a bad option is one line on stderr and
// status 2, before anything is built or measured.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench/run.ts options', () => {
  it.each([
    [['--bogus'], "bench: Unknown option '--bogus' (try --help)\n"],
    [['--row', '99'], 'bench: --row: no row 99 (try --help)\n'],
    [['--row=-1'], 'bench: --row: no row -1 (try --help)\n'],
    [['--row', 'x'], 'bench: --row: no row x (try --help)\n'],
    [['--rounds', '0'], 'bench: --rounds: want a whole number from 1 to 99, not 0 (try --help)\n'],
    [['--rounds', '2.5'], 'bench: --rounds: want a whole number from 1 to 99, not 2.5 (try --help)\n'],
  ])('%j: one line, status 2', (args, message) => {
    const r = bench(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe('');
  });
});
