import { createHash } from 'node:crypto';

/** A DNS-1123 label: what namespace, pod, secret and most object names must be. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: empty, or alphanumerics at both ends with `-_.` inside, at most 63 characters. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** The name part of a label key (after the optional `prefix/`). */
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Whether `name` is a DNS-1123 label (lowercase alphanumerics and `-`, at most 63 characters). */
export function isDns1123Label(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/** Whether `name` is a DNS-1123 subdomain (dot-separated labels, at most 253 characters). */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && name.split('.').every((part) => DNS1123_LABEL.test(part));
}

/** Whether `value` may be a label value. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** Whether `key` may be a label or annotation key: `[dns-subdomain/]name`, name at most 63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

/** A short, stable hash of the original text: keeps names that sanitise alike apart. */
export function shortHash(text: string, length = 6): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Turns any text into a DNS-1123 label of at most `maxLength` characters: lowercase,
 * every run of other characters becomes `-`, trimmed, then `-<hash of the original>`
 * appended. The hash is always added, so `Acme` and `acme` (or two names that only
 * differ past the cut) never land in the same object.
 *
 * ```ts
 * dnsLabel('Acme Corp'); // 'acme-corp-1b2c3d'
 * ```
 */
export function dnsLabel(text: string, maxLength = 63): string {
  const hash = shortHash(text);
  const room = Math.max(0, maxLength - hash.length - 1);
  const body = sanitize(text).slice(0, room).replace(/-+$/, '');
  return body === '' ? `x${hash}`.slice(0, maxLength) : `${body}-${hash}`;
}

/** Like {@link dnsLabel} without the hash, for parts of a name made unique elsewhere. */
export function dnsFragment(text: string, maxLength: number): string {
  const body = sanitize(text).slice(0, maxLength).replace(/-+$/, '');
  return body === '' ? 'x' : body;
}

/**
 * A label value for `text`: the text itself when it already is a valid label value
 * (so `kubectl get pods -l warmflow.dev/tenant=acme` works), else a sanitised form with a hash.
 */
export function labelValue(text: string): string {
  return isLabelValue(text) ? text : dnsLabel(text);
}

function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '');
}
