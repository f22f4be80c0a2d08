#!/usr/bin/env node
// Entry point declared in package.json "bin": runs the built CLI (dist/, made by `npm run build`,
// which `npm ci` / `npm install` run through the "prepare" script).
let mod;
try {
  mod = await import('../dist/cli/main.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist')) throw e;
  process.stderr.write('iommu-emu: dist/ is missing: run `npm run build` (or `npm ci`) first\n');
  process.exit(2);
}
process.exitCode = await mod.run(process.argv.slice(2));
