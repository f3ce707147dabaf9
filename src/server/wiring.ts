import { inferTemplate } from '../template/infer-template.js';
import { parseFlow } from '../template/parse-flow.js';
import type { AppDeps } from './app-state.js';
import type { TemplatePort } from './ports.js';

/** The template part as the server uses it: parse (YAML or JSON text) then infer. */
export function templatePort(): TemplatePort {
  return {
    compile(text, file) {
      const spec = parseFlow(text, file);
      return { spec, template: inferTemplate(spec, file === undefined ? {} : { file }) };
    },
  };
}

/**
 * The real parts behind the server, adapted to its ports, and how to close what
 * they opened.
 */
export function defaultDeps(_options: { tenancy: AppDeps['tenancy']; fileRoots: string[] }): {
  deps: Partial<AppDeps>;
  close: () => Promise<void>;
} {
  return { deps: { template: templatePort() }, close: async () => {} };
}
