import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { flowJsonSchema } from '../../template/flow-schema.js';
import { formatTemplateDot, formatTemplateText } from '../../template/format-template.js';
import { loadFlow } from '../../template/load-flow.js';
import type { Template } from '../../template/types.js';
import { callServer, serverTarget, withServerOption } from '../remote.js';

/**
 * `warmflow template FLOW [--json | --dot]`: infers and prints a flow's template.
 * `warmflow template --schema` prints the flow file's JSON Schema.
 * An invalid flow throws its ValidationError, which main.ts prints and maps to exit 2.
 */
export function registerTemplate(program: Command): void {
  const command = program
    .command('template')
    .description(
      'infer the dataflow template of a flow file and print it (stages, I/O nodes, transactions)',
    )
    .argument('[flow]', 'flow file: .yaml, or a .ts/.js module exporting defineFlow(...)')
    .option('--json', 'print the template as JSON: { name, nodes, edges, transactions }')
    .option('--dot', 'print the template as a Graphviz digraph (pipe into `dot -Tsvg`)')
    .option('--schema', "print the flow file's JSON Schema instead");
  withServerOption(command)
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 2 invalid flow (every problem on stderr with file:line:column).',
    )
    .action(
      async (
        flow: string | undefined,
        options: { json?: boolean; dot?: boolean; schema?: boolean; server?: string },
      ) => {
        if (options.schema) {
          process.stdout.write(JSON.stringify(flowJsonSchema(), null, 2) + '\n');
          return;
        }
        if (flow === undefined) {
          throw new WarmflowError('E_INVALID_ARGUMENTS', 'missing the flow file', {
            hint: 'warmflow template examples/clickstream/flow.yaml',
          });
        }
        if (options.json && options.dot) {
          throw new WarmflowError('E_INVALID_ARGUMENTS', '--json and --dot cannot be combined', {
            hint: 'choose one output format',
          });
        }
        const target = serverTarget(options.server);
        // Remotely the server infers it (and registers the flow): the same template, or
        // the same problems as a 400, which callServer turns into the same exit code 2.
        const template: Template = target
          ? ((
              await callServer(target, 'POST', 'v1/flows', {
                yaml: await readFile(flow, 'utf8'),
                query: { file: path.resolve(flow) },
              })
            ).template as Template)
          : (await loadFlow(flow)).template;
        const { name, nodes, edges, transactions } = template;
        if (options.json) {
          process.stdout.write(
            JSON.stringify({ name, nodes, edges, transactions }, null, 2) + '\n',
          );
        } else if (options.dot) {
          process.stdout.write(formatTemplateDot(template));
        } else {
          process.stdout.write(formatTemplateText(template, flow));
        }
      },
    );
}
