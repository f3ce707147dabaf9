import { HASH, hashString } from './sketches/hash64.js';
import { HyperLogLog, type HyperLogLogJson } from './sketches/hyper-log-log.js';
import { DDSketch, type DDSketchJson } from './sketches/dd-sketch.js';
import { MisraGries, type MisraGriesJson } from './sketches/misra-gries.js';
import type { ConstraintCheck } from './field-expectation.js';

/** Type families that make up a record's schema fingerprint (null is not a schema type). */
export const FAMILY = { boolean: 0, number: 1, string: 2, object: 3, array: 4 } as const;
const FAMILY_NAMES = Object.keys(FAMILY);

/** Sketch settings shared by every field of one profiler. */
export interface SketchSettings {
  hllPrecision: number;
  quantileAccuracy: number;
  frequentK: number;
}

/** Serialised {@link FieldState} (its sketches included). */
export interface FieldStateJson {
  key: string;
  element: boolean;
  parent: number;
  counts: number[];
  num: [number | null, number | null, number];
  str: [number | null, number | null, number];
  dates: [number, number | null, number | null];
  hll: HyperLogLogJson;
  dd?: DDSketchJson;
  mg: MisraGriesJson;
  /** The field `$` that holds records that are not objects. */
  detached?: boolean;
}

/**
 * Everything measured about one field (dotted path), with its children: object keys
 * in `children`, array elements in `element` (path `name[]`). The fields are public
 * and mutable because the profiler's hot loop updates them directly.
 */
export class FieldState {
  readonly path: string;
  readonly key: string;
  readonly isElement: boolean;
  readonly parent: FieldState | undefined;
  /** Creation order, parents first; serialisation relies on it. */
  readonly id: number;
  children: Map<string, FieldState> | undefined = undefined;
  element: FieldState | undefined = undefined;
  /** The field each key position held in the last object seen here (see Profiler#walkObject). */
  readonly shape: Array<FieldState | undefined> = [];

  present = 0;
  nulls = 0;
  booleans = 0;
  integers = 0;
  floats = 0;
  strings = 0;
  objects = 0;
  arrays = 0;
  /** Values that broke a declared constraint. */
  invalid = 0;

  numMin = Infinity;
  numMax = -Infinity;
  numSum = 0;
  lenMin = Infinity;
  lenMax = -Infinity;
  lenSum = 0;
  /** Strings that parse as dates, and their range in epoch ms. */
  dateCount = 0;
  dateMin = Infinity;
  dateMax = -Infinity;

  /** The last scalar counted and its hash (a cache: see the profiler's `countDistinct`). */
  lastValue: string | number | boolean | undefined = undefined;
  lastHi = 0;
  lastLo = 0;
  /**
   * Values equal to {@link lastValue} seen since it was given to the frequent-items
   * summary, not given yet: a run of equal values goes in as one weighted add, by
   * {@link settle}, before the summary is given anything else or read. That is exact:
   * nothing else reaches this field's summary in between, and the summary held the
   * value right after it was added, so the add finds it (or, after a merge pruned it,
   * inserts it with the whole weight, as the first repeat would have and the rest
   * then counted on it). Never the distinct counter: it has seen the hash.
   */
  repeats = 0;

  readonly hll: HyperLogLog;
  dd: DDSketch | undefined = undefined;
  readonly mg: MisraGries;
  readonly check: ConstraintCheck | undefined;

  /** Per family, two 32-bit tags that this (path, family) adds to a fingerprint. */
  readonly tags = new Int32Array(10);
  /**
   * The last record that counted this path in its fingerprint, and the families
   * (`1 << family`) it counted for it; the same for the last schema window. Plain
   * numbers on this object, which the hot loop has in hand already.
   */
  stampRecord = -1;
  stampFamilies = 0;
  stampWindow = -1;
  windowFamilies = 0;

  constructor(
    parent: FieldState | undefined,
    key: string,
    isElement: boolean,
    id: number,
    settings: SketchSettings,
    check: ConstraintCheck | undefined,
  ) {
    this.parent = parent;
    this.key = key;
    this.isElement = isElement;
    this.id = id;
    this.path = fieldPath(parent, key, isElement);
    this.hll = new HyperLogLog(settings.hllPrecision);
    this.mg = new MisraGries(settings.frequentK);
    this.check = check;
    for (let f = 0; f < 5; f++) {
      // join, not a template: a template of 13 or more characters is a rope (ConsString),
      // and once hashString has seen one, V8's optimised code for its charCodeAt loop
      // stays on the slow, any-representation path for every value after it (the per
      // value hash of the profiler's hot loop measured 3-4x slower; PERFORMANCE notes).
      hashString([this.path, FAMILY_NAMES[f]].join('\u0000'));
      this.tags[2 * f] = HASH[0]!;
      this.tags[2 * f + 1] = HASH[1]!;
    }
  }

  /** Gives the frequent-items summary the repeats it is owed (see {@link repeats}). */
  settle(): void {
    const repeats = this.repeats;
    if (repeats === 0) return;
    this.repeats = 0;
    this.mg.addHashed(this.lastHi, this.lastLo, this.lastValue!, repeats);
  }

  /** Folds `other` (the same path in another profiler) into this field; both settled. */
  mergeStats(other: FieldState): void {
    this.present += other.present;
    this.nulls += other.nulls;
    this.booleans += other.booleans;
    this.integers += other.integers;
    this.floats += other.floats;
    this.strings += other.strings;
    this.objects += other.objects;
    this.arrays += other.arrays;
    this.invalid += other.invalid;
    this.numMin = Math.min(this.numMin, other.numMin);
    this.numMax = Math.max(this.numMax, other.numMax);
    this.numSum += other.numSum;
    this.lenMin = Math.min(this.lenMin, other.lenMin);
    this.lenMax = Math.max(this.lenMax, other.lenMax);
    this.lenSum += other.lenSum;
    this.dateCount += other.dateCount;
    this.dateMin = Math.min(this.dateMin, other.dateMin);
    this.dateMax = Math.max(this.dateMax, other.dateMax);
    this.hll.merge(other.hll);
    this.mg.merge(other.mg);
    if (other.dd !== undefined) {
      if (this.dd === undefined) this.dd = DDSketch.fromJSON(other.dd.toJSON());
      else this.dd.merge(other.dd);
    }
  }

  toJSON(): FieldStateJson {
    const json: FieldStateJson = {
      key: this.key,
      element: this.isElement,
      parent: this.parent?.id ?? -1,
      counts: [
        this.present,
        this.nulls,
        this.booleans,
        this.integers,
        this.floats,
        this.strings,
        this.objects,
        this.arrays,
        this.invalid,
      ],
      num: [finite(this.numMin), finite(this.numMax), this.numSum],
      str: [finite(this.lenMin), finite(this.lenMax), this.lenSum],
      dates: [this.dateCount, finite(this.dateMin), finite(this.dateMax)],
      hll: this.hll.toJSON(),
      mg: this.mg.toJSON(),
    };
    if (this.dd !== undefined) json.dd = this.dd.toJSON();
    return json;
  }

  /** Restores the statistics of `json` into this (freshly created) field. */
  restore(json: FieldStateJson): void {
    const c = json.counts;
    this.present = c[0] ?? 0;
    this.nulls = c[1] ?? 0;
    this.booleans = c[2] ?? 0;
    this.integers = c[3] ?? 0;
    this.floats = c[4] ?? 0;
    this.strings = c[5] ?? 0;
    this.objects = c[6] ?? 0;
    this.arrays = c[7] ?? 0;
    this.invalid = c[8] ?? 0;
    this.numMin = json.num[0] ?? Infinity;
    this.numMax = json.num[1] ?? -Infinity;
    this.numSum = json.num[2];
    this.lenMin = json.str[0] ?? Infinity;
    this.lenMax = json.str[1] ?? -Infinity;
    this.lenSum = json.str[2];
    this.dateCount = json.dates[0];
    this.dateMin = json.dates[1] ?? Infinity;
    this.dateMax = json.dates[2] ?? -Infinity;
    this.hll.merge(HyperLogLog.fromJSON(json.hll));
    this.mg.merge(MisraGries.fromJSON(json.mg));
    if (json.dd !== undefined) this.dd = DDSketch.fromJSON(json.dd);
  }
}

/** JSON has no Infinity: empty ranges travel as null. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** `a`, `a.b`, `a[]`, `a[].b`; a record that is not an object is the field `$`. */
function fieldPath(parent: FieldState | undefined, key: string, isElement: boolean): string {
  if (parent === undefined) return key;
  if (isElement) return `${parent.path}[]`;
  return `${parent.path}.${key}`;
}
