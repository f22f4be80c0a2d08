// Builds dist/ once before the tests: the spawned CLI (bin/iommu-emu.mjs) runs the built JavaScript,
// and the package test imports it through the package's exports map. ~6 s.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
