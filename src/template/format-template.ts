import { topologicalStages } from './topological-stages.js';
import type { Template, TemplateNode } from './types.js';

const MARK: Record<TemplateNode['kind'], string> = {
  source: '[source]',
  read: '[read]  ',
  write: '[write] ',
  function: '        ',
};

/**
 * The template as people read it: its stages in topological order, each node with
 * what it consumes and produces, I/O nodes marked with their store, then the
 * transactions.
 *
 * ```text
 * stage 1
 *   [source] source:clicks     RawClick
 * stage 2
 *            parse             RawClick -> Click
 * ```
 */
export function formatTemplateText(template: Template, file?: string): string {
  const inputs = typesBy(template, 'to');
  const outputs = typesBy(template, 'from');
  const byId = new Map(template.nodes.map((node) => [node.id, node]));
  const width = Math.max(...template.nodes.map((node) => node.id.length), 4) + 2;
  const lines = [
    `template ${template.name}${file ? `  (${file})` : ''}`,
    `${template.nodes.length} nodes, ${template.edges.length} edges, ${template.transactions.length} transactions`,
  ];
  topologicalStages(template).forEach((stage, i) => {
    lines.push('', `stage ${i + 1}`);
    for (const id of stage) {
      const node = byId.get(id)!;
      let what: string;
      if (node.kind === 'function') {
        what = `${(inputs.get(id) ?? []).join(', ')} -> ${(outputs.get(id) ?? []).join(', ')}`;
        if (node.key !== undefined) what += `  keyed by ${node.key}`;
      } else {
        what = node.type ?? '';
        if (node.kind === 'read') what += `  from ${node.data_store ?? '?'}${keyed(node)}`;
        if (node.kind === 'write')
          what += `  into ${node.data_store ?? 'the default JSONL sink'}${keyed(node)}`;
      }
      lines.push(`  ${MARK[node.kind]} ${id.padEnd(width)}${what}`);
    }
  });
  if (template.transactions.length > 0) {
    lines.push(
      '',
      "transactions (a function's reads and writes; a checkpointed run commits each store's writes of one epoch as one unit, see docs/recovery.md)",
    );
    for (const tx of template.transactions) {
      lines.push(`  ${tx.function}: ${[...tx.reads, tx.function, ...tx.writes].join(' + ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The template as a Graphviz digraph: functions are boxes, stores cylinders, streams arrows. */
export function formatTemplateDot(template: Template): string {
  const q = (text: string) => JSON.stringify(text);
  const lines = [
    `digraph ${q(template.name)} {`,
    '  rankdir=LR;',
    '  node [fontname="Helvetica"];',
  ];
  for (const node of template.nodes) {
    const attrs: string[] = [];
    if (node.kind === 'function') {
      attrs.push('shape=box', `label=${q(node.key ? `${node.id}\nkey: ${node.key}` : node.id)}`);
    } else if (node.kind === 'source') {
      attrs.push('shape=cds', `label=${q(`${node.id}\n${node.type ?? ''}`)}`);
    } else {
      const store = node.data_store ?? (node.kind === 'write' ? 'jsonl' : '?');
      attrs.push('shape=cylinder', `label=${q(`${node.id}\n(${store})`)}`);
    }
    lines.push(`  ${q(node.id)} [${attrs.join(', ')}];`);
  }
  for (const edge of template.edges) {
    lines.push(`  ${q(edge.from)} -> ${q(edge.to)} [label=${q(edge.type)}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function typesBy(template: Template, side: 'from' | 'to'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const edge of template.edges) {
    const list = out.get(edge[side]) ?? [];
    if (!list.includes(edge.type)) list.push(edge.type);
    out.set(edge[side], list);
  }
  return out;
}

function keyed(node: TemplateNode): string {
  return node.key === undefined ? '' : ` by ${node.key}`;
}
