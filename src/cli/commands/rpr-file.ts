import { readJsonFile } from '../../read-json-file.js';
import type { Rpr } from '../../predictor/rpr.js';
import { parseRprs } from '../../predictor/rpr-validation.js';
import type { Template } from '../../template/types.js';

/**
 * Reads the RPRs of a `--rpr` file — a JSON array, `warmflow predict --json` output (an
 * object with `rprs`) or one RPR — through the one RPR validator; given the flow's template,
 * also checks they name its nodes.
 */
export async function readRprsFile(file: string, template?: Template): Promise<Rpr[]> {
  const parsed = await readJsonFile(file, {
    code: 'E_INVALID_RPR',
    what: 'RPRs',
    hint: 'write them with `warmflow predict FLOW --json > rprs.json`',
  });
  return parseRprs(parsed, file, template);
}
