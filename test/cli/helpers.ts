// In-process runs of the CLI: main() with stdout/stderr captured as strings (no process start).
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const IMAGE = join(ROOT, 'examples/images/linux-virt-smmuv3-4k');

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function runMain(argv: readonly string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** Bad input: exit 2, nothing on stdout, exactly one line on stderr starting "iommu-emu: ". */
export function isOneLineError(r: Run): boolean {
  return r.code === 2 && r.out === '' && /^iommu-emu: [^\n]+\n$/.test(r.err);
}
