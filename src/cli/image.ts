// iommu-emu image save DIR: writes the demo machine (memory + registers) in the image format.
import { saveSmmuImage } from '../image/image.ts';
import { buildDemoMachine } from '../demo/machine.ts';
import { CliError } from './errors.ts';

export async function imageCmd(args: string[]): Promise<number> {
  const [verb, dir, ...extra] = args;
  if (verb !== 'save') throw new CliError(`image: unknown action '${verb ?? ''}' (expected: image save DIR)`);
  if (!dir) throw new CliError('image save: missing DIR');
  if (extra.length) throw new CliError(`image save: unexpected argument '${extra[0]}'`);
  const m = buildDemoMachine({}, 48 << 20);
  saveSmmuImage(dir, m.mem, m.smmu);
  process.stdout.write(
    `wrote ${dir}/image.json and ${dir}/memory.bin.gz (${m.mem.regions().length} regions)\n`,
  );
  return 0;
}
