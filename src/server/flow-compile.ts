import { inferTemplate } from '../template/infer-template.js';
import { parseFlow } from '../template/parse-flow.js';
import type { FlowSpec, Template } from '../template/types.js';

/** Parses a flow file's text (YAML or JSON) and infers its template, synchronously. */
export function compileFlowText(
  text: string,
  file: string | undefined,
): { spec: FlowSpec; template: Template } {
  const shown = file ?? 'request.yaml';
  const spec = parseFlow(text, shown);
  const template = inferTemplate(spec, { file: shown });
  return { spec, template };
}
