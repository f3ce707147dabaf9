/**
 * Every error code warmflow uses, with what it means: the codes of thrown errors
 * ({@link WarmflowError}), of validation problems (`Problem.code`), of HTTP error bodies and of
 * a failed execution's `error.code`. Scripts match on these strings, so they are a closed set:
 * {@link ErrorCode} is the union of the keys, `WarmflowError` takes nothing else, and
 * `docs/errors.md` lists every one (a test keeps the three in step).
 *
 * A code starting with `E_INVALID` means the input was invalid (CLI exit 2, HTTP 400).
 */
export const ERROR_CODES = {
  // Flow files and templates (problems of one ValidationError, E_INVALID)
  E_INVALID: 'input was refused; `problems` lists every problem found',
  E_INVALID_FLOW_FILE: 'a flow file cannot be read',
  E_YAML: 'malformed YAML (also duplicate keys), at its position',
  E_SHAPE: 'a field of a flow has the wrong type or is missing',
  E_UNKNOWN_FIELD: 'a field that is not part of the document (flow, request body)',
  E_INVALID_FIELD: 'a request body field with a wrong value',
  E_LIMIT: 'a document or request body over a size limit (depth, count, length)',
  E_DUPLICATE_FUNCTION: 'a function name used twice',
  E_NO_INPUTS: 'a function with an empty or missing `input`',
  E_NO_OUTPUTS: 'a function with an empty or missing `output`',
  E_DUPLICATE_TYPE: "a type listed twice in one function's input or output",
  E_UNSATISFIED_INPUT: 'a consumed type nobody produces, no stream carries and no store holds',
  E_UNKNOWN_STORE: '`types.<T>.store` or `sink` names a store the flow does not define',
  E_APPEND_ONLY_STORE: 'a keyed type placed in an append-only (stream) store',
  E_UNUSED_TYPE: 'a declared type that no stream carries and no function takes or gives',
  E_UNDECLARED_TYPE: 'an output type not declared while a declared one is spelled almost the same',
  E_UNUSED_STREAM: 'a stream whose type no function consumes',
  E_CYCLE: 'the flow has a cycle',
  E_MODULE_NOT_FOUND: "a function's module does not exist",
  E_MODULE_FORBIDDEN: "a function's module lies outside the tenant's area (server)",
  E_STORE_NOT_GRANTED: 'a flow names a store its tenant was not granted (server)',
  E_BUNDLE_TOO_LARGE: 'a code bundle with too many files or bytes',
  E_BUNDLE_PATH: 'a code bundle file name that is not a plain relative path',
  E_BUNDLE_FILE: 'a code bundle file whose content is not a string',

  // Command-line flags and other inputs
  E_INVALID_ARGUMENTS: 'command-line arguments that do not fit together or are missing',
  E_INVALID_FLAG: 'a numeric command-line flag out of range',
  E_INVALID_OPTION: 'a command-line option with a malformed value',
  E_INVALID_FLOW: 'a flow named on the command line that cannot be read',
  E_INVALID_INPUT: 'an --input that names no stream of the flow, twice the same, or a missing file',
  E_INVALID_PROFILE: 'a profile file that cannot be read',
  E_INVALID_RPR: 'RPRs that are missing, malformed or do not fit the flow',
  E_INVALID_SETS: 'a warm set count that is not a whole number >= 0',
  E_INVALID_PRICES: 'a price table that cannot be read',
  E_PRICE: 'a price that is not a number >= 0',
  E_INVALID_POLICY: 'a keep-warm policy spec that does not parse',
  E_INVALID_TRACE: 'a request trace that cannot be read',
  E_INVALID_UNTIL: 'a simulation end that is not an integer >= 0',
  E_INVALID_ADMIN_KEY: 'WARMFLOW_ADMIN_KEY is too short',
  E_INVALID_REQUEST: 'an HTTP request body or query that fails validation',
  E_INVALID_WORKER: 'a worker started without a valid start message or spec',
  E_DEMO: 'the bundled demo example is missing from the installation',

  // Sources
  E_SOURCE: 'a live stream source failed (group creation, read)',
  E_SOURCE_URL: 'a source URL that does not parse or names an unknown scheme',
  E_SOURCE_UNREADABLE: 'an input that cannot be opened',
  E_SOURCE_UNREACHABLE: 'a live stream server that cannot be reached',
  E_SOURCE_NOT_FOUND: 'a live stream that does not exist',
  E_SOURCE_FORMAT: 'an input that is not records (binary, wrong format)',
  E_SOURCE_UNSUPPORTED: 'an input format warmflow does not read',
  E_SOURCE_EMPTY: 'an input with no records, or a live stream with no message in time',
  E_SOURCE_NO_RECORDS: 'an input whose every line is malformed',
  E_SOURCE_READ: 'reading an input failed midway',
  E_RECORD_TOO_LONG: 'a record over the max_record_bytes limit',

  // Prediction, calibration, policy
  E_CALIBRATION: 'calibrating a function on a sample failed',
  E_GPU_UNAVAILABLE: 'a function requires a GPU and the provider has none free',
  E_POLICY: 'a keep-warm policy chose values outside its bounds',
  E_SANDBOX: 'the bubblewrap sandbox is not available',

  // Planning and pools
  E_PLAN: 'nodes deployed apart that must run on one resource',
  E_EMPTY_GROUP: 'a placement group with no node',
  E_MISSING_RPR: 'a placement group with no RPR',
  E_UNKNOWN_NODE: 'an RPR or group naming a node the template does not have',
  E_NODE_TWICE: 'a node placed in two groups',
  E_NO_MODULE: 'a function that names no module',
  E_CAPACITY: 'the provider has not enough free cores, memory or GPUs',
  E_QUOTA: "a tenant's or namespace's quota would be exceeded",
  E_POOL_CLOSED: 'a warm pool used after it closed',
  E_NO_RESOURCE: 'a claim asked for a node it holds no resource for',
  E_TENANT: 'a provider returned a resource of another tenant',
  E_PROVISION: 'a worker did not start',
  E_CLOSED: 'a provider used after it closed',
  E_ABORTED: 'provisioning, or the queued work of an abandoned request, was aborted',
  E_ALREADY_SERVING: 'another `warmflow serve` owns the pools of this home',
  E_NO_SERVE: 'no `warmflow serve` owns the pools of this home',
  E_CONTROL: 'the pool control socket failed or got an unknown operation',
  E_CONTROL_TIMEOUT: '`warmflow serve` did not answer a control request in time',
  E_NO_CLAIM: 'a control `release` of a claim the pool owner does not hold',

  // Kubernetes
  E_K8S_UNREACHABLE: 'the Kubernetes API cannot be reached',
  E_K8S_UNAUTHORIZED: 'the Kubernetes API refused the credentials',
  E_K8S_FORBIDDEN: 'the Kubernetes API refused an operation (RBAC)',
  E_K8S_INVALID: 'the Kubernetes API refused an object (admission)',
  E_K8S_API: 'any other Kubernetes API failure',
  E_K8S_NOT_READY: 'a worker pod was not Ready in time',
  E_K8S_POD_FAILED: 'a worker pod failed before it was ready',
  E_K8S_WORKER_UNREACHABLE: 'a Ready worker pod did not accept the pool token',
  E_K8S_QUANTITY: 'a value that is not a Kubernetes quantity',
  E_K8S_SCHEMA: 'a generated manifest fails its schema',
  E_K8S_KIND: 'a manifest of a kind warmflow does not apply',
  E_K8S_UNKNOWN_FIELD: 'a manifest field warmflow does not set',
  E_K8S_NAME: 'a manifest name that is not a DNS-1123 label',
  E_K8S_LABEL: 'a manifest label with an invalid key or value',
  E_STORE_EGRESS: 'a store host no NetworkPolicy can limit egress to',

  // Workers and the wire protocol
  E_WORKER: 'a worker failed with an error that has no code of its own',
  E_WORKER_EXIT: 'a worker exited before it was ready',
  E_WORKER_TIMEOUT: 'a worker was not ready, or did not answer a request, in time',
  E_ADDRESS: 'a worker address that is not host:port',
  E_CONNECT: 'no connection to a worker',
  E_CONNECTION_CLOSED: 'a worker connection closed',
  E_AUTH: 'a worker connection that did not authenticate',
  E_PROTOCOL: 'a malformed frame or message on a worker connection',
  E_PROTOCOL_VERSION: 'a worker and orchestrator that speak different protocol versions',
  E_DEPLOY_REFUSED: "a deployment outside what the worker's tenant was granted",
  E_DEPLOY:
    'a node deployed onto a resource that did not warm it, or a deploy template sent ahead (`df.template`) that does not hash to its id',
  E_BUSY: 'a resource asked to run while it runs another dataflow',
  E_UNKNOWN_VERSION:
    'a run naming a deploy template the worker does not hold (the orchestrator sends it whole)',
  E_NO_RUN: 'a data-plane message for a resource with no run',
  E_THREAD: 'a data-plane thread died',
  E_DATAPLANE: 'the data plane failed with an error that has no code of its own',
  E_MODULE: 'a function module that does not load or lacks the named export',
  E_STATE:
    '`ctx.state` used by a node that is not keyed, or `ctx.state.read`/`write` of a name the function does not declare',
  E_STATE_DECLARATION: 'a function declaring `state` without a `key`, or a state name twice',
  E_LOOKUP: '`ctx.input` or `ctx.lookup` on a type with no key or store',

  // Runs
  E_RUN: 'a run failed with an error that has no code of its own',
  E_RESOURCE_DIED: 'a worker went away mid-run',
  E_STALLED: 'a resource made no progress for the stall timeout',
  E_CHECKPOINT: 'a checkpoint could not be committed to a store or recorded in the home',
  E_RESUME: 'a run cannot be resumed (not checkpointed, or no such run in the home)',
  E_CANCELLED: 'a run was cancelled',
  E_SINK: 'writing a run output failed',
  E_DEAD_LETTERS: 'records of a node were dead-lettered',
  E_INTERRUPTED: 'the server stopped while the run was in flight',

  // Stores and history
  E_STORE: 'a store operation failed',
  E_STORE_CONFIG: 'a store definition that is not valid',
  E_STORE_CATALOGUE: 'the store catalogue cannot be read',
  E_STORE_CLOSED: 'a store used after close()',
  E_STORE_VALUE: 'a store refused a value',
  E_STORE_APPEND_ONLY: 'a lookup or update on an append-only (stream) store',
  E_HISTORY: 'the run history cannot be opened or read',
  E_HISTORY_CLOSED: 'the run history used after close()',

  // Server and tenants
  E_SERVER: 'the server answered with an error of no known code',
  E_SERVER_UNREACHABLE: 'the server cannot be reached',
  E_UNAUTHORIZED: 'an HTTP request without a valid API key',
  E_FORBIDDEN: 'an HTTP request its key may not make',
  E_NOT_FOUND: 'an item that does not exist (or belongs to another tenant)',
  E_NO_ROUTE: 'an HTTP method and path the server does not serve',
  E_BAD_REQUEST: 'an HTTP request that cannot be read',
  E_BAD_CURSOR: 'a list cursor (`after=`) that names no item',
  E_BODY_TOO_LARGE: 'an HTTP request body over the size limit',
  E_MEDIA_TYPE: 'an HTTP request body of a media type the route does not take',
  E_INTERNAL: 'an internal server error (details in the server log)',
  E_PATH_FORBIDDEN: 'a path outside the folders the server lets a tenant read',
  E_NO_TENANT: 'a tenant that does not exist',
  E_TENANT_EXISTS: 'a tenant name that is taken',
  E_NO_KEY: 'an API key id the tenant does not have',
} as const;

/** Every error code (see {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True for a string that is one of the {@link ErrorCode}s. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
