// The house rules, enforced from the import lines (architecture-review §3.2, DEVELOPERS.md: hardware
// and software meet only at memory, MMIO and the queues):
// - hardware models (src/smmuv3, src/vtd, src/device, src/pt, src/cache) and the shared ground
//   (src/mem, src/layout) never import a driver, the kernel model, the CLI, a machine builder, the
//   image tools, the reference model or the public entry;
// - drivers and the kernel model import only an IOMMU's "spec" modules (layouts, commands, events,
//   registers, features, queue geometry), never a model's private module;
// - the reference model shares only those spec modules with the fast model;
// - src/mem and src/layout import nothing else in src/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static `import … from`, `export … from` and `import('…')`), as src-relative paths. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    out.push(
      relative(SRC, resolve(dirname(file), spec))
        .split('\\')
        .join('/'),
    );
  }
  return out;
}

/** Modules of an IOMMU folder that describe the architecture (shared by model, reference and drivers). */
const SPEC_MODULES = new Set([
  'smmuv3/layouts.ts',
  'smmuv3/all-layouts.ts',
  'smmuv3/commands.ts',
  'smmuv3/events.ts',
  'smmuv3/regs.ts',
  'smmuv3/features.ts',
  'smmuv3/queue.ts',
  'smmuv3/result.ts',
  'vtd/regs.ts',
  'vtd/layouts.ts',
  'vtd/inv-desc.ts',
  'vtd/fault-reasons.ts',
  'vtd/all-layouts.ts',
]);
const isSpec = (m: string) => SPEC_MODULES.has(m) || /^vtd\/spec\//.test(m) || m.startsWith('pt/');

const HARDWARE = /^(smmuv3|vtd|device|pt|cache|mem|layout)\//;
const SOFTWARE = /^(driver|kernel|cli|machine|demo|image|ref|tools|arch|index\.ts)/;
const DRIVER = /^(driver|kernel)\//;
const MODEL_PRIVATE = (m: string) => /^(smmuv3|vtd)\//.test(m) && !isSpec(m);

interface Violation {
  file: string;
  imports: string;
}

function violations(list: { file: string; imports: string[] }[]): Violation[] {
  const bad: Violation[] = [];
  for (const { file, imports } of list) {
    for (const m of imports) {
      const v = { file, imports: m };
      if (HARDWARE.test(file) && SOFTWARE.test(m)) bad.push(v);
      else if ((DRIVER.test(file) || file.startsWith('ref/')) && MODEL_PRIVATE(m)) bad.push(v);
      else if (/^(mem|layout)\//.test(file) && !/^(mem|layout)\//.test(m)) bad.push(v);
    }
  }
  return bad;
}

describe('architecture: import rules', () => {
  const list = files(SRC).map((f) => ({
    file: relative(SRC, f).split('\\').join('/'),
    imports: importsOf(f),
  }));

  it('the source tree follows them', () => {
    expect(list.length).toBeGreaterThan(20);
    expect(violations(list)).toEqual([]);
  });

  it('the checker catches each kind of violation (so the test above can fail)', () => {
    const probe = (file: string, text: string) =>
      violations([{ file, imports: importsOf(join(SRC, file), text) }]);
    expect(probe('smmuv3/walk.ts', "import { x } from '../driver/smmuv3-driver.ts';")).toHaveLength(1);
    expect(probe('smmuv3/cmdq.ts', "import type { Cli } from '../cli/main.ts';")).toHaveLength(1);
    expect(probe('device/atc.ts', "export { y } from '../machine/machine.ts';")).toHaveLength(1);
    expect(probe('smmuv3/ste.ts', "const m = await import('../machine/demo.ts');")).toHaveLength(1);
    expect(probe('driver/smmuv3-driver.ts', "import { SMMUv3 } from '../smmuv3/smmuv3.ts';")).toHaveLength(1);
    expect(probe('ref/smmuv3-ref.ts', "import { walkS1 } from '../smmuv3/walk.ts';")).toHaveLength(1);
    expect(probe('mem/phys-mem.ts', "import { STE } from '../smmuv3/layouts.ts';")).toHaveLength(1);
    // Allowed: a driver reading the spec modules, a model reading memory and layouts.
    expect(probe('driver/smmuv3-driver.ts', "import { STE } from '../smmuv3/layouts.ts';")).toEqual([]);
    expect(probe('smmuv3/walk.ts', "import { PhysMem } from '../mem/phys-mem.ts';")).toEqual([]);
  });
});

describe('public API entry (src/index.ts)', () => {
  it('exports what a user needs: memory, models, features, drivers, machine builder, images, layouts, decode/lint', async () => {
    const api = await import('../src/index.ts');
    for (const name of [
      'PhysMem',
      'SMMUv3',
      'Features',
      'Smmuv3Driver',
      'buildSmmuMachine',
      'buildDemoMachine',
      'loadSmmuImage',
      'saveSmmuImage',
      'STE',
      'CD',
      'REGS',
      'decode',
      'encode',
      'lintStructure',
      'refTranslate',
    ])
      expect(api, name).toHaveProperty(name);
    // A machine built through the API alone translates.
    const m = api.buildDemoMachine();
    expect(m.smmu.translate(m.sids.bypass, -1, 0, 0x4000_1000, 0)).toBe(api.ST_OK);
  });
});
