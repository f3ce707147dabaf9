import { readFile } from 'node:fs/promises';
import { WarmflowError } from '../../errors.js';
import type { Rpr } from '../../predictor/rpr.js';
import { parseRprs } from '../../predictor/rpr-validation.js';
import type { Template } from '../../template/types.js';

/**
 * Reads the RPRs of a `--rpr` file — a JSON array, `warmflow predict --json` output (an
 * object with `rprs`) or one RPR — through the one RPR validator; given the flow's template,
 * also checks they name its nodes.
 */
export async function readRprsFile(file: string, template?: Template): Promise<Rpr[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new WarmflowError(
      'E_INVALID_RPR',
      `cannot read RPRs from ${file}: ${(cause as Error).message}`,
      { cause, hint: 'write them with `warmflow predict FLOW --json > rprs.json`' },
    );
  }
  return parseRprs(parsed, file, template);
}
