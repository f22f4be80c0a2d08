// The published package (issue 6 §3): another project can `import { SMMUv3, PhysMem } from 'iommu-emu'`
// through the exports map (JavaScript from dist/, types from the .d.ts files), the bin runs the built
// JavaScript without tsx, tsx is only a dev dependency, and the tarball holds what a user needs.
// dist/ is built by test/cli/global-setup.ts.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, unknown>;
  types: string;
  files: string[];
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
};

let tmp = '';
const run = (cmd: string, args: string[], cwd: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(cmd, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );

beforeAll(() => {
  // A consumer project with the package linked into node_modules (as `npm install ../iommu-emu` does).
  tmp = mkdtempSync(join(tmpdir(), 'iommu-emu-pkg-'));
  mkdirSync(join(tmp, 'node_modules'));
  symlinkSync(ROOT, join(tmp, 'node_modules', 'iommu-emu'), 'dir');
  writeFileSync(join(tmp, 'package.json'), '{"name": "consumer", "type": "module", "private": true}\n');
  const body = `import { SMMUv3, PhysMem, loadSmmuImage, ST_OK } from 'iommu-emu';
const mem = new PhysMem();
mem.addRegion(0x4000_0000, 1 << 20);
const smmu = new SMMUv3(mem, {}); // SMMUEN = 0, GBPA.ABORT = 0: bypass (ST_OK)
const st: number = smmu.translate(0, -1, 0, 0x1000, 0);
const img = loadSmmuImage(${JSON.stringify(join(ROOT, 'examples/images/linux-virt-smmuv3-4k'))});
const ok: boolean = img.smmu.translate(8, -1, 0, 0xffe46010, 0) === ST_OK;
console.log(JSON.stringify({ st, ok, pa: img.smmu.res.pa.toString(16) }));
`;
  writeFileSync(join(tmp, 'use.mts'), body);
  writeFileSync(join(tmp, 'use.mjs'), body.replace(': number', '').replace(': boolean', ''));
  writeFileSync(
    join(tmp, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['use.mts'],
    }),
  );
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the iommu-emu package', () => {
  it('imports from another project through the exports map (built JavaScript)', async () => {
    const r = await run(
      process.execPath,
      ['use.mjs', join(ROOT, 'examples/images/linux-virt-smmuv3-4k')],
      tmp,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ st: 0, ok: true, pa: '447ea010' });
  });

  it('type-checks from another project (the .d.ts files)', async () => {
    const r = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tmp], tmp);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('declares exports, types, files and a bin that runs dist/ (tsx only for development)', () => {
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/', 'bin/', 'LICENSE']));
    expect(pkg.dependencies?.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(pkg.scripts.prepare).toMatch(/build/);
    const bin = readFileSync(join(ROOT, pkg.bin['iommu-emu']!), 'utf8');
    expect(bin).not.toMatch(/tsx/);
    expect(bin).toMatch(/dist\/cli\/main\.js/);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(existsSync(join(ROOT, 'dist/index.d.ts'))).toBe(true);
  });

  it('packs dist/, bin/, the example image and LICENSE, and no sources or tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'bin/iommu-emu.mjs',
      'LICENSE',
      'README.md',
      'package.json',
      'examples/images/linux-virt-smmuv3-4k/image.json',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('--version prints the package version', async () => {
    const r = await run(process.execPath, ['bin/iommu-emu.mjs', '--version'], ROOT);
    expect(r).toEqual({ code: 0, stdout: `iommu-emu ${pkg.version}\n`, stderr: '' });
  });
});
