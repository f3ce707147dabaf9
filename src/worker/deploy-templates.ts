import { WarmflowError } from '../errors.js';
import {
  deployTemplateId,
  splitDeploySpec,
  type DeploySpec,
  type DeployTemplate,
} from './dataplane/deploy-spec.js';
import type { WireDeploySpec } from './protocol.js';

/** Templates a worker keeps by default (a pool's worker serves one flow version). */
const DEFAULT_LIMIT = 16;

/**
 * The deploy templates a worker holds, by `template_id`, the most recently used ones: after
 * a `df.run` whose spec came whole with an id, later runs of the same flow version send only
 * their run part (execution, sources, stores), so neither side encodes, decodes or checks the
 * template again.
 *
 * ```ts
 * const spec = templates.resolve(message.spec); // whole, or E_UNKNOWN_VERSION
 * templates.keep(spec); // once the spec is accepted
 * ```
 */
export class DeployTemplates {
  readonly #held = new Map<string, DeployTemplate>();
  readonly #limit: number;

  constructor(limit = DEFAULT_LIMIT) {
    this.#limit = limit;
  }

  /** The whole spec of a `df.run`: as it came, or its run part with the template held under its id. */
  resolve(spec: WireDeploySpec): DeploySpec {
    if ('template' in spec) return spec;
    const id = spec.template_id;
    const held = this.#held.get(id);
    if (held === undefined)
      throw new WarmflowError(
        'E_UNKNOWN_VERSION',
        `this worker does not hold deploy template ${id} (run ${spec.execution_id})`,
        { hint: 'send the deploy spec whole' },
      );
    // Most recently used last: the first one is the one to drop.
    this.#held.delete(id);
    this.#held.set(id, held);
    return { ...spec, ...held };
  }

  /**
   * Keeps the template part of an accepted whole spec that names one. A part whose content
   * does not hash to its id is not kept (runs naming it then get `E_UNKNOWN_VERSION`), so an
   * id never stands for another template.
   */
  keep(spec: DeploySpec): void {
    const id = spec.template_id;
    if (id === undefined || this.#held.has(id)) return;
    this.hold(id, splitDeploySpec(spec).template);
  }

  /**
   * Keeps template part `template` under `id` (sent ahead of its runs, `df.template`); false,
   * and nothing kept, when it does not hash to `id`.
   */
  hold(id: string, template: DeployTemplate): boolean {
    if (this.#held.has(id)) return true;
    if (deployTemplateId(template) !== id) return false;
    this.#held.set(id, template);
    if (this.#held.size > this.#limit) this.#held.delete(this.#held.keys().next().value!);
    return true;
  }

  /** Whether the template `id` is held. */
  holds(id: string): boolean {
    return this.#held.has(id);
  }
}
