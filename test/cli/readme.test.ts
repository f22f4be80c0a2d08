// Every `node bin/iommu-emu.mjs …` command in README.md runs (the built bin, as a user runs it from a
// fresh clone after `npm ci`) and succeeds (exit 0, or 1 for a translation that faults, nothing on
// stderr); in ```console blocks the output shown after `$ command` must be what it prints (in order;
// a line `…` stands for lines left out, elsewhere the lines are consecutive).
// /tmp/demo-image in the README is replaced by a temporary directory.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

interface Example {
  command: string;
  /** Output lines shown in the README (console blocks), `…` for a gap; null: output not shown. */
  output: string[] | null;
}

function examples(md: string): Example[] {
  const out: Example[] = [];
  const blocks = md.matchAll(/```(sh|console)\n([\s\S]*?)```/g);
  for (const [, lang, body] of blocks) {
    const lines = body!.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    if (lang === 'sh') {
      for (const l of lines) {
        const cmd = l.replace(/\s+#.*$/, '').trim();
        if (cmd.startsWith('node bin/iommu-emu.mjs ')) out.push({ command: cmd, output: null });
      }
    } else {
      for (const l of lines) {
        if (l.startsWith('$ ')) out.push({ command: l.slice(2).trim(), output: [] });
        else out[out.length - 1]?.output?.push(l);
      }
    }
  }
  return out;
}

/** Splits a command line on spaces (the README's commands use no quoting). */
function words(cmd: string): string[] {
  return cmd.split(/\s+/).filter((w) => w !== '');
}

const tmp = mkdtempSync(join(tmpdir(), 'iommu-emu-readme-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
const all = examples(md);

function run(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = words(cmd.split('/tmp/demo-image').join(join(tmp, 'demo-image')));
  expect(argv.slice(0, 2)).toEqual(['node', 'bin/iommu-emu.mjs']);
  return new Promise((resolve) =>
    execFile(process.execPath, argv.slice(1), { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

/** Checks that `shown` (with `…` gaps) matches `actual` in order. */
function matches(shown: string[], actual: string[]): string | null {
  let at = 0;
  let gap = false; // the first line shown is the first line printed, unless a `…` comes first
  for (const s of shown) {
    if (s === '…') {
      gap = true;
      continue;
    }
    const want = s.split('/tmp/demo-image').join(join(tmp, 'demo-image'));
    const i = gap ? actual.indexOf(want, at) : actual[at] === want ? at : -1;
    if (i < 0) return `line not found${gap ? '' : ' next'}: ${s}`;
    at = i + 1;
    gap = false;
  }
  return null;
}

/** ```js blocks: programs using the package; `// prints: X` lines give what they print. */
function programs(md: string): { code: string; prints: string[] }[] {
  return [...md.matchAll(/```js\n([\s\S]*?)```/g)].map(([, code]) => ({
    code: code!,
    prints: [...code!.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]!),
  }));
}

describe('README.md examples', () => {
  it('every ```js program runs against the package (import from iommu-emu) and prints what it says', async () => {
    const progs = programs(md);
    expect(progs.length).toBeGreaterThanOrEqual(1);
    // A consumer project with the package linked in (dist/ built by the global setup).
    const dir = join(tmp, 'consumer');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'iommu-emu'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{"type": "module", "private": true}\n');
    for (const [i, p] of progs.entries()) {
      writeFileSync(join(dir, `p${i}.mjs`), p.code);
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [`p${i}.mjs`], { cwd: dir, encoding: 'utf8' }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
        ),
      );
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout.trimEnd().split('\n')).toEqual(p.prints);
    }
  });

  it('has the tour and the command-line examples', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all.some((e) => e.command.includes('image save'))).toBe(true);
    expect(all.some((e) => e.command.includes('--explain'))).toBe(true);
  });

  it('every command runs (in README order) and prints what the README shows', async () => {
    const failures: string[] = [];
    // `image save` first (the others read what it writes), then the rest at once.
    const saves = all.filter((e) => e.command.includes(' image save '));
    const results = [];
    for (const e of saves) results.push({ e, r: await run(e.command) });
    const rest = all.filter((e) => !saves.includes(e));
    results.push(...(await Promise.all(rest.map(async (e) => ({ e, r: await run(e.command) })))));
    for (const { e, r } of results) {
      if (r.code !== 0 && r.code !== 1) failures.push(`${e.command}: exit ${r.code}: ${r.stderr}`);
      else if (r.stderr !== '') failures.push(`${e.command}: stderr ${r.stderr}`);
      else if (e.output) {
        const m = matches(e.output, r.stdout.replace(/\n$/, '').split('\n'));
        if (m) failures.push(`${e.command}: ${m}`);
      }
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
