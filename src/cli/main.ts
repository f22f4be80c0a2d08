// iommu-emu command-line tool. Subcommands live in their own modules; this file only dispatches.
import { CliError } from './errors.ts';

const USAGE = `usage: iommu-emu <command> [options]
commands:
  decode <structure> <qword0> [<qword1> ...] [--json]   decode a structure (smmuv3-ste, smmuv3-cd, smmuv3-l1std,
                                                       smmuv3-l1cd, smmuv3-cmd, smmuv3-evt)
  translate --image DIR --sid N [--ssid N] --iova X [--access read|write|exec] [--unpriv] [--json]
  translate --image DIR --batch FILE                    one JSON request per line in, one result per line out
  image save DIR                                        write the demo machine as an image
  demo                                                  run the end-to-end SMMUv3 demo`;

type Handler = (args: string[]) => Promise<number> | number;

async function load(cmd: string): Promise<Handler | undefined> {
  switch (cmd) {
    case 'decode':
      return (await import('./decode.ts')).decodeCmd;
    case 'translate':
      return (await import('./translate.ts')).translateCmd;
    case 'image':
      return (await import('./image.ts')).imageCmd;
    case 'demo':
      return async (a) => (await import('../demo/main.ts')).runDemo(a);
    default:
      return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    }
    const h = await load(cmd);
    if (!h) throw new CliError(`unknown command '${cmd}' (try: decode, translate, image, demo)`);
    return await h(rest);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`iommu-emu: ${e.message}\n`);
      return 2;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`iommu-emu: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
