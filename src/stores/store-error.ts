import { WarmflowError, type ErrorCode } from '../errors.js';
import type { StoreKind } from '../template/types.js';

/**
 * An error raised by a data store: which store (name and kind), which operation, and
 * the client error it wraps as `cause`. Codes: `E_STORE` (the backend failed),
 * `E_STORE_VALUE` (a value is not JSON), `E_STORE_CLOSED` (used after `close()`),
 * `E_STORE_CONFIG` (a store spec is unusable).
 */
export class StoreError extends WarmflowError {
  override readonly name = 'StoreError';
  readonly store: string;
  readonly kind: StoreKind;

  constructor(
    code: ErrorCode,
    store: { name: string; kind: StoreKind },
    message: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(code, `store "${store.name}" (${store.kind}): ${message}`, options);
    this.store = store.name;
    this.kind = store.kind;
  }
}
