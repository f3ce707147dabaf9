import { Parser, type CST } from 'yaml';
import { ValidationError } from '../errors.js';

/**
 * Bounds on one YAML or JSON document, checked before the document is composed into
 * values: parsers and validators recurse, so an unchecked 20,000-deep body overflows the
 * stack (and a YAML alias bomb or a rope-built string multiplies memory) before any
 * schema can refuse it.
 */
export interface DocumentLimits {
  /** Bytes of the document's text (`max_document_bytes`). */
  maxBytes: number;
  /** Nesting of collections (`max_depth`). */
  maxDepth: number;
  /** YAML aliases in the text (`max_aliases`). */
  maxAliases: number;
  /** Size of the value once every alias is expanded, as JSON bytes (`max_expanded_bytes`). */
  maxExpandedBytes: number;
  /** Bytes of any one string, key or value (`max_string_bytes`). */
  maxStringBytes: number;
  /**
   * Entries of any one mapping or sequence (`max_items`): yaml's duplicate-key check is
   * quadratic in a mapping's size (30,000 keys take it about a minute).
   */
  maxItems?: number;
}

/**
 * Limits of a flow file: a flow is a few dozen descriptors nested four levels deep, so
 * these leave room for large flows while keeping what the server stores (and answers
 * with) close to what was sent.
 */
export const FLOW_LIMITS: Readonly<DocumentLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxAliases: 100,
  maxExpandedBytes: 2 * 1024 * 1024,
  maxStringBytes: 64 * 1024,
  maxItems: 1000,
});

/** The refusal of a document over one of its {@link DocumentLimits}, naming the limit. */
export function limitError(
  what: string,
  message: string,
  limit: string,
  hint: string,
  file?: string,
): ValidationError {
  return new ValidationError(`${what} ${file ?? '<input>'} is over a limit`, [
    { code: 'E_LIMIT', message: `${message} (limit "${limit}"): ${hint}` },
  ]);
}

/**
 * Checks the size, nesting and alias count of YAML (or JSON) text without composing
 * it: yaml's lexer and CST parser keep explicit stacks, and the walk below does too,
 * so a hostile document costs time linear in its size and a bounded stack.
 *
 * @throws ValidationError with one `E_LIMIT` problem naming the limit.
 */
export function checkYamlBounds(
  text: string,
  limits: DocumentLimits,
  file?: string,
  what = 'flow',
): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes)
    throw limitError(
      what,
      `the text is ${bytes} bytes; at most ${limits.maxBytes} are accepted`,
      'max_document_bytes',
      'split the document or shorten it',
      file,
    );
  let aliases = 0;
  const stack: Array<{ token: CST.Token | null | undefined; depth: number }> = [];
  for (const token of new Parser().parse(text)) stack.push({ token, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token === null || token === undefined) continue;
    switch (token.type) {
      case 'alias':
        if (++aliases > limits.maxAliases)
          throw limitError(
            what,
            `the text holds more than ${limits.maxAliases} aliases`,
            'max_aliases',
            'write the repeated parts out instead of aliasing them',
            file,
          );
        break;
      case 'document':
        stack.push({ token: token.value, depth });
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        const inner = depth + 1;
        if (inner > limits.maxDepth)
          throw limitError(
            what,
            `collections nest more than ${limits.maxDepth} levels deep`,
            'max_depth',
            'flatten the document',
            file,
          );
        if (limits.maxItems !== undefined && token.items.length > limits.maxItems)
          throw limitError(
            what,
            `a collection holds ${token.items.length} entries; at most ${limits.maxItems} are accepted`,
            'max_items',
            'split the collection or shorten it',
            file,
          );
        for (const item of token.items) {
          if ('key' in item) stack.push({ token: item.key, depth: inner });
          stack.push({ token: item.value, depth: inner });
        }
        break;
      }
      default:
        break;
    }
  }
}

/**
 * A deep copy of a composed value that expands aliases within a budget and copies every
 * string flat. Shared references (YAML aliases) are counted each time they appear, so
 * what is stored and answered can never be larger than `maxExpandedBytes`; copying
 * through JSON also replaces the rope strings a parser built by concatenation (tens of
 * bytes per character) with flat ones.
 *
 * @throws ValidationError with one `E_LIMIT` problem naming the limit.
 */
export function boundedCopy<T>(value: T, limits: DocumentLimits, file?: string, what = 'flow'): T {
  let budget = limits.maxExpandedBytes;
  const overBudget = () =>
    limitError(
      what,
      `with its aliases expanded the document is larger than ${limits.maxExpandedBytes} bytes`,
      'max_expanded_bytes',
      'alias less, or shorten the aliased parts',
      file,
    );
  const countString = (s: string) => {
    // UTF-16 length bounds the UTF-8 bytes within 3x; exact enough for a budget and O(1).
    if (s.length > limits.maxStringBytes)
      throw limitError(
        what,
        `a string is ${s.length} characters long; at most ${limits.maxStringBytes} are accepted`,
        'max_string_bytes',
        'shorten the string',
        file,
      );
    budget -= s.length + 2;
  };
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (budget < 0) throw overBudget();
    if (typeof current === 'string') countString(current);
    else if (Array.isArray(current)) {
      budget -= 2 + current.length;
      for (const item of current as unknown[]) stack.push(item);
    } else if (current !== null && typeof current === 'object') {
      budget -= 2;
      for (const [key, item] of Object.entries(current)) {
        countString(key);
        budget -= 1;
        stack.push(item);
      }
    } else budget -= 8;
  }
  if (budget < 0) throw overBudget();
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
