import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { SourcePosition } from '../errors.js';

/** Joins a document path the way problems print it: `functions[2].input[0]`, `types.Click.store`. */
export function pathToString(path: ReadonlyArray<string | number | symbol>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const text = String(part);
      const plain = /^[A-Za-z_$][\w$-]*$/.test(text);
      out += plain ? (out === '' ? text : `.${text}`) : `[${JSON.stringify(text)}]`;
    }
  }
  return out;
}

/**
 * Where each part of a flow file is, by document path. Problems found after parsing
 * (by the schema or by inference) look their position up here, so every message can
 * say `flow.yaml:12:5`. A flow defined in TypeScript has no positions, only its file.
 */
export class FlowPositions {
  readonly file: string | undefined;
  readonly #values = new Map<string, SourcePosition>();
  readonly #keys = new Map<string, SourcePosition>();

  constructor(file?: string) {
    this.file = file;
  }

  /** Records a position (used while walking the YAML document). */
  set(path: string, position: SourcePosition, of: 'value' | 'key' = 'value'): void {
    (of === 'key' ? this.#keys : this.#values).set(path, position);
  }

  /**
   * The position of the value at `path`, else of its nearest enclosing part, else the
   * file alone: a problem always says at least which file it is in.
   */
  at(path: string): SourcePosition | undefined {
    for (let p: string | undefined = path; p !== undefined; p = parentPath(p)) {
      const found = this.#values.get(p);
      if (found !== undefined) return found;
    }
    return this.file === undefined ? undefined : { file: this.file };
  }

  /** The position of the key naming `path` (for "unknown field" problems), else {@link at}. */
  keyAt(path: string): SourcePosition | undefined {
    return this.#keys.get(path) ?? this.at(path);
  }

  /** Walks a parsed YAML document and records where every map value, key and list item is. */
  static fromYaml(contents: Node | null, lineCounter: LineCounter, file?: string): FlowPositions {
    const positions = new FlowPositions(file);
    const pos = (offset: number): SourcePosition => {
      const { line, col } = lineCounter.linePos(offset);
      return file === undefined ? { line, column: col } : { file, line, column: col };
    };
    const walk = (node: unknown, path: Array<string | number>): void => {
      if (node === null || typeof node !== 'object') return;
      const range = (node as Node).range;
      if (range) positions.set(pathToString(path), pos(range[0]));
      if (isMap(node)) {
        for (const pair of node.items) {
          const keyNode = pair.key;
          const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
          const childPath = [...path, key];
          const keyRange = (keyNode as Node | null)?.range;
          if (keyRange) {
            positions.set(pathToString(childPath), pos(keyRange[0]), 'key');
            // A key with no value (`input:`) is positioned at its key.
            if (pair.value === null) positions.set(pathToString(childPath), pos(keyRange[0]));
          }
          walk(pair.value, childPath);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, index) => walk(item, [...path, index]));
      }
    };
    walk(contents, []);
    return positions;
  }
}

function parentPath(path: string): string | undefined {
  if (path === '') return undefined;
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}
