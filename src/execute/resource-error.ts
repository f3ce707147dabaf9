import { WarmflowError } from '../errors.js';

/**
 * A run's failure on one resource: the resource went away (`E_RESOURCE_DIED`), made no
 * progress (`E_STALLED`), or failed otherwise. It names the resource and the first
 * function node it ran, so the execution manager attributes the failure (and a recovery)
 * without reading the message.
 */
export class ResourceError extends WarmflowError {
  override readonly name = 'ResourceError';
  readonly resource_id: string;
  readonly node_id: string;

  constructor(
    code: 'E_RESOURCE_DIED' | 'E_STALLED',
    message: string,
    where: { resource_id: string; node_id: string },
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(code, message, options);
    this.resource_id = where.resource_id;
    this.node_id = where.node_id;
  }
}
