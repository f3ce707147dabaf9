import type { ErrorCode, Problem } from '../../../errors.js';
import { ValidationError } from '../../../errors.js';
import { isDns1123Label, isLabelKey, isLabelValue } from '../names.js';
import { FIELD_ALLOW_LIST, unknownFields } from './field-allow-list.js';

/** What every manifest builder returns: a `kubernetes-models` object. */
export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  validate(): void;
  toJSON(): Record<string, unknown>;
}

const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Every problem with one manifest: the Kubernetes schema (`validate()`), then what that
 * validation does not see — unknown fields (see {@link FIELD_ALLOW_LIST}), DNS-1123 names,
 * label and annotation keys and values, container, port, volume and env var names.
 */
export function checkManifest(manifest: KubeManifest): Problem[] {
  const where = `${manifest.kind} ${manifest.metadata?.name ?? '<unnamed>'}`;
  const problems: Problem[] = [];
  const add = (code: ErrorCode, message: string, path?: string) =>
    problems.push(
      path === undefined
        ? { code, message: `${where}: ${message}` }
        : { code, message: `${where}: ${message}`, path },
    );
  try {
    manifest.validate();
  } catch (error) {
    add('E_K8S_SCHEMA', error instanceof Error ? error.message : String(error));
  }
  const json = manifest.toJSON();
  const allowed = FIELD_ALLOW_LIST[manifest.kind];
  if (allowed === undefined) add('E_K8S_KIND', `kind ${manifest.kind} is not one warmflow applies`);
  else
    for (const path of unknownFields(json, allowed))
      add('E_K8S_UNKNOWN_FIELD', `field not allowed`, path);

  const meta = manifest.metadata ?? {};
  if (meta.name === undefined || !isDns1123Label(meta.name)) {
    add('E_K8S_NAME', `name ${JSON.stringify(meta.name)} is not a DNS-1123 label`, 'metadata.name');
  }
  if (
    manifest.kind !== 'Namespace' &&
    (meta.namespace === undefined || !isDns1123Label(meta.namespace))
  ) {
    add(
      'E_K8S_NAME',
      `namespace ${JSON.stringify(meta.namespace)} is not a DNS-1123 label`,
      'metadata.namespace',
    );
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    if (!isLabelKey(key)) add('E_K8S_LABEL', `label key "${key}" is invalid`, 'metadata.labels');
    if (!isLabelValue(value))
      add('E_K8S_LABEL', `label ${key}="${value}" has an invalid value`, 'metadata.labels');
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    if (!isLabelKey(key))
      add('E_K8S_LABEL', `annotation key "${key}" is invalid`, 'metadata.annotations');
  }
  if (manifest.kind === 'Pod') checkPodNames(json, add);
  return problems;
}

function checkPodNames(
  json: Record<string, unknown>,
  add: (code: ErrorCode, message: string, path?: string) => void,
) {
  const spec = (json.spec ?? {}) as {
    containers?: Array<{
      name?: string;
      ports?: Array<{ name?: string }>;
      env?: Array<{ name?: string }>;
    }>;
    volumes?: Array<{ name?: string }>;
  };
  (spec.containers ?? []).forEach((container, c) => {
    if (!isDns1123Label(container.name ?? ''))
      add(
        'E_K8S_NAME',
        `container name "${container.name}" is invalid`,
        `spec.containers[${c}].name`,
      );
    (container.ports ?? []).forEach((port, p) => {
      if (
        port.name !== undefined &&
        !(port.name.length <= 15 && PORT_NAME.test(port.name) && /[a-z]/.test(port.name))
      ) {
        add(
          'E_K8S_NAME',
          `port name "${port.name}" is not an IANA service name`,
          `spec.containers[${c}].ports[${p}].name`,
        );
      }
    });
    (container.env ?? []).forEach((env, e) => {
      if (!ENV_NAME.test(env.name ?? ''))
        add(
          'E_K8S_NAME',
          `env var name "${env.name}" is invalid`,
          `spec.containers[${c}].env[${e}].name`,
        );
    });
  });
  (spec.volumes ?? []).forEach((volume, v) => {
    if (!isDns1123Label(volume.name ?? ''))
      add('E_K8S_NAME', `volume name "${volume.name}" is invalid`, `spec.volumes[${v}].name`);
  });
}

/** Checks every manifest and throws one {@link ValidationError} listing all problems. */
export function assertManifests(manifests: readonly KubeManifest[]): void {
  const problems = manifests.flatMap(checkManifest);
  if (problems.length > 0) throw new ValidationError('Kubernetes manifests', problems);
}
