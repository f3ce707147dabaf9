import { HASH, hashBoolean, hashNumber, hashString } from './sketches/hash64.js';
import { DDSketch } from './sketches/dd-sketch.js';
import { MisraGries } from './sketches/misra-gries.js';
import { FAMILY, FieldState, type SketchSettings } from './field-state.js';
import { SchemaWindows } from './schema-windows.js';
import { compileConstraints } from './field-expectation.js';
import { buildDcp } from './dcp-builder.js';
import { parseDate } from './parse-date.js';
import type { Dcp } from './dcp.js';
import {
  resolveProfilerOptions,
  type ProfilerConfig,
  type ProfilerJson,
  type ProfilerOptions,
} from './profiler-options.js';

export type { ProfilerJson, ProfilerOptions } from './profiler-options.js';

/**
 * Feeds the hash in {@link HASH} to the field's frequent-items summary and, when the
 * summary did not hold it already, to its distinct counter. Skipping the counter is
 * exact: both are fed the same hashes, so a hash the summary holds was counted before,
 * and adding it again would change no register (merges and restores keep this, as the
 * summary's entries always come with the counter that saw them). The value and its hash
 * are remembered for the repeat test in {@link Profiler}'s hot loop, and the repeats of
 * the previous value still owed to the summary are given to it first.
 */
function countDistinct(field: FieldState, value: string | number | boolean): void {
  const hi = HASH[0];
  const lo = HASH[1];
  if (field.repeats !== 0) field.settle();
  field.lastValue = value;
  field.lastHi = hi;
  field.lastLo = lo;
  if (!field.mg.addHashed(hi, lo, value)) field.hll.addHash(hi, lo);
}

/**
 * The incremental, mergeable data profiler behind the DCP. Feed it records with
 * {@link add}, combine partial profiles from other partitions or windows with
 * {@link merge} (A merged with B equals A followed by B, exactly for counts and
 * sketch registers), and read the DCP with {@link snapshot} at any time.
 *
 * ```ts
 * const profiler = new Profiler({ timeField: 'ts' });
 * for (const record of records) profiler.add(record);
 * const dcp = profiler.snapshot();
 * ```
 */
export class Profiler {
  readonly #config: ProfilerConfig;
  readonly #settings: SketchSettings;
  readonly #root = new Map<string, FieldState>();
  readonly #rootShape: Array<FieldState | undefined> = [];
  /** Every field in creation order (parents before children). */
  readonly #fields: FieldState[] = [];
  #nonObjectRoot: FieldState | undefined;
  #records = 0;
  #bytes = 0;
  #arrivalCount = 0;
  #arrivalMin = Infinity;
  #arrivalMax = -Infinity;
  #overflowFields = 0;
  #malformedCount = 0;
  readonly #malformedExamples: Array<{ line: number; error: string }> = [];
  /** Counts of record fingerprints (64-bit set hashes), for consistency. */
  readonly #fingerprints = new MisraGries(32);
  readonly #windows: SchemaWindows;
  /** Running fingerprint of the record being added. */
  #fpA = 0;
  #fpB = 0;
  /**
   * The last record fingerprint and how many records after it had the same one, not
   * yet given to {@link #fingerprints}: as a field's repeats (FieldState#repeats), a run
   * goes in as one weighted add, before anything else reaches or reads that summary.
   */
  #lastFpA = 0;
  #lastFpB = 0;
  #fpRepeats = -1;

  constructor(options: ProfilerOptions = {}) {
    this.#config = resolveProfilerOptions(options);
    const window = this.#config.window;
    this.#settings = {
      hllPrecision: this.#config.hllPrecision,
      quantileAccuracy: this.#config.quantileAccuracy,
      frequentK: this.#config.frequentK,
    };
    this.#windows = new SchemaWindows(window);
  }

  /** Records added so far (malformed lines excluded). */
  get records(): number {
    return this.#records;
  }

  /** Malformed lines reported so far. */
  get malformed(): number {
    return this.#malformedCount;
  }

  /**
   * Profiles one record. `rawBytes` is its size in the source (computed from its JSON
   * text when omitted); `arrivalMs` is when a live source received it.
   */
  add(record: unknown, rawBytes?: number, arrivalMs?: number): void {
    this.#records++;
    this.#bytes += rawBytes ?? Buffer.byteLength(JSON.stringify(record) ?? '');
    if (arrivalMs !== undefined) {
      this.#arrivalCount++;
      if (arrivalMs < this.#arrivalMin) this.#arrivalMin = arrivalMs;
      if (arrivalMs > this.#arrivalMax) this.#arrivalMax = arrivalMs;
    }
    this.#fpA = 0;
    this.#fpB = 0;
    if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
      this.#walkObject(undefined, this.#root, this.#rootShape, record as Record<string, unknown>);
    } else {
      this.#nonObjectRoot ??= this.#newField(undefined, '$', false, false);
      if (this.#nonObjectRoot !== undefined) this.#observe(this.#nonObjectRoot, record);
    }
    const fpA = this.#fpA;
    const fpB = this.#fpB;
    if (fpA === this.#lastFpA && fpB === this.#lastFpB && this.#fpRepeats >= 0) this.#fpRepeats++;
    else {
      this.#settleFingerprints();
      this.#fingerprints.addHashed(fpA, fpB, 0);
      this.#lastFpA = fpA;
      this.#lastFpB = fpB;
      this.#fpRepeats = 0;
    }
    this.#windows.endRecord();
  }

  #settleFingerprints(): void {
    if (this.#fpRepeats <= 0) return;
    this.#fingerprints.addHashed(this.#lastFpA, this.#lastFpB, 0, this.#fpRepeats);
    this.#fpRepeats = 0;
  }

  /** Gives every summary the repeats it is owed, before it is read or merged into. */
  #settle(): void {
    this.#settleFingerprints();
    for (const field of this.#fields) field.settle();
  }

  /** Counts a line that could not be parsed; it never stops the profile. */
  addMalformed(line: number, error: string): void {
    this.#malformedCount++;
    if (this.#malformedExamples.length < this.#config.malformedExamples)
      this.#malformedExamples.push({ line, error });
  }

  /**
   * Walks an object's keys. `shape` remembers which field the i-th key was last time:
   * records of a stream mostly share their key order, and comparing the (interned)
   * key with the remembered one is cheaper than a map lookup.
   */
  #walkObject(
    parent: FieldState | undefined,
    children: Map<string, FieldState>,
    shape: Array<FieldState | undefined>,
    object: Record<string, unknown>,
  ): void {
    let i = 0;
    for (const key in object) {
      let field = shape[i];
      if (field === undefined || field.key !== key) {
        field = children.get(key) ?? this.#newField(parent, key, false);
        shape[i] = field;
      }
      i++;
      if (field === undefined) continue;
      const value = object[key];
      // Strings, the commonest values, take a path small enough to be inlined here.
      if (typeof value === 'string') this.#observeString(field, value);
      else this.#observe(field, value);
    }
  }

  #observeString(field: FieldState, value: string): void {
    field.present++;
    field.strings++;
    const length = value.length;
    if (length < field.lenMin) field.lenMin = length;
    if (length > field.lenMax) field.lenMax = length;
    field.lenSum += length;
    // A value equal to the field's previous one (sorted or bursty columns repeat it
    // often) is only counted here; see FieldState#repeats.
    if (value === field.lastValue) field.repeats++;
    else {
      hashString(value);
      countDistinct(field, value);
    }
    if (length >= 8 && length <= 35) this.#maybeDate(field, value);
    if (field.check !== undefined && !field.check(value)) field.invalid++;
    this.#stamp(field, FAMILY.string);
  }

  #observe(field: FieldState, value: unknown): void {
    let family: number;
    switch (typeof value) {
      case 'string':
        this.#observeString(field, value);
        return;
      case 'number': {
        field.present++;
        if (Number.isInteger(value)) field.integers++;
        else field.floats++;
        if (value < field.numMin) field.numMin = value;
        if (value > field.numMax) field.numMax = value;
        field.numSum += value;
        (field.dd ??= new DDSketch(this.#settings.quantileAccuracy)).add(value);
        if (value === field.lastValue) field.repeats++;
        else {
          hashNumber(value);
          countDistinct(field, value);
        }
        family = FAMILY.number;
        break;
      }
      case 'boolean':
        field.present++;
        field.booleans++;
        if (value === field.lastValue) field.repeats++;
        else {
          hashBoolean(value);
          countDistinct(field, value);
        }
        family = FAMILY.boolean;
        break;
      case 'object':
        field.present++;
        if (value === null) {
          field.nulls++;
          if (field.check !== undefined && !field.check(value)) field.invalid++;
          return;
        }
        if (Array.isArray(value)) {
          field.arrays++;
          let element = field.element;
          if (element === undefined) {
            element = this.#newField(field, '[]', true);
            if (element !== undefined) field.element = element;
          }
          if (element !== undefined)
            for (let i = 0; i < value.length; i++) this.#observe(element, value[i]);
          family = FAMILY.array;
        } else {
          field.objects++;
          this.#walkObject(
            field,
            (field.children ??= new Map()),
            field.shape,
            value as Record<string, unknown>,
          );
          family = FAMILY.object;
        }
        break;
      default:
        // undefined (a library caller's object) means absent-with-no-value: a null.
        field.present++;
        field.nulls++;
        return;
    }
    if (field.check !== undefined && !field.check(value)) field.invalid++;
    this.#stamp(field, family);
  }

  /** Adds (path, family) to the record's fingerprint and the window's schema, once each. */
  #stamp(field: FieldState, family: number): void {
    const bit = 1 << family;
    const record = this.#records;
    if (field.stampRecord !== record) {
      field.stampRecord = record;
      field.stampFamilies = bit;
    } else if ((field.stampFamilies & bit) === 0) field.stampFamilies |= bit;
    else return;
    const tagA = field.tags[2 * family];
    const tagB = field.tags[2 * family + 1];
    this.#fpA = (this.#fpA + tagA) | 0;
    this.#fpB ^= tagB;
    const windows = this.#windows;
    if (field.stampWindow !== windows.id) {
      field.stampWindow = windows.id;
      field.windowFamilies = bit;
    } else if ((field.windowFamilies & bit) === 0) field.windowFamilies |= bit;
    else return;
    windows.addPair(tagA, tagB);
  }

  /** Cheap shape test first (a digit, then '-' or '/' at index 4), then the date parser. */
  #maybeDate(field: FieldState, value: string): void {
    const sep = value.charCodeAt(4);
    if (sep !== 45 && sep !== 47) return;
    const c0 = value.charCodeAt(0);
    if (c0 < 48 || c0 > 57) return;
    const ms = parseDate(value);
    if (ms !== ms) return;
    field.dateCount++;
    if (ms < field.dateMin) field.dateMin = ms;
    if (ms > field.dateMax) field.dateMax = ms;
  }

  /** Creates a field (undefined past `maxFields`); `attach` false keeps it out of the key maps. */
  #newField(
    parent: FieldState | undefined,
    key: string,
    isElement: boolean,
    attach = true,
  ): FieldState | undefined {
    if (this.#fields.length >= this.#config.maxFields) {
      this.#overflowFields++;
      return undefined;
    }
    const path =
      parent === undefined ? key : isElement ? `${parent.path}[]` : `${parent.path}.${key}`;
    const expectation = this.#config.expect[path];
    const check = expectation === undefined ? undefined : compileConstraints(expectation);
    const field = new FieldState(
      parent,
      key,
      isElement,
      this.#fields.length,
      this.#settings,
      check,
    );
    this.#fields.push(field);
    if (!attach) return field;
    if (parent === undefined) this.#root.set(key, field);
    else if (isElement) parent.element = field;
    else (parent.children ??= new Map()).set(key, field);
    return field;
  }

  /** The field at the same place as `other` in this profiler, created if missing. */
  #counterpart(other: FieldState): FieldState | undefined {
    if (other.parent === undefined) {
      const existing = this.#root.get(other.key);
      if (existing !== undefined) return existing;
      return this.#newField(undefined, other.key, false);
    }
    const parent = this.#counterpart(other.parent);
    if (parent === undefined) return undefined;
    if (other.isElement) return parent.element ?? this.#newField(parent, '[]', true);
    return parent.children?.get(other.key) ?? this.#newField(parent, other.key, false);
  }

  /**
   * Folds another profiler's state into this one, as if its records had been added
   * after this one's. Both must use the same sketch settings and window size.
   */
  merge(other: Profiler): this {
    if (
      other.#config.window !== this.#config.window ||
      other.#config.hllPrecision !== this.#config.hllPrecision
    ) {
      throw new RangeError(
        'cannot merge profilers with different window sizes or HyperLogLog precision',
      );
    }
    this.#settle();
    other.#settle();
    this.#records += other.#records;
    this.#bytes += other.#bytes;
    this.#arrivalCount += other.#arrivalCount;
    this.#arrivalMin = Math.min(this.#arrivalMin, other.#arrivalMin);
    this.#arrivalMax = Math.max(this.#arrivalMax, other.#arrivalMax);
    this.#overflowFields += other.#overflowFields;
    for (const example of other.#malformedExamples) {
      if (this.#malformedExamples.length < this.#config.malformedExamples)
        this.#malformedExamples.push(example);
    }
    this.#malformedCount += other.#malformedCount;
    for (const field of other.#fields) {
      const mine =
        field === other.#nonObjectRoot
          ? (this.#nonObjectRoot ??= this.#newField(undefined, '$', false, false))
          : this.#counterpart(field);
      if (mine === undefined) this.#overflowFields += field.present;
      else mine.mergeStats(field);
    }
    this.#fingerprints.merge(other.#fingerprints);
    this.#windows.merge(other.#windows);
    return this;
  }

  /** The Data Characteristic Profile of everything added and merged so far. */
  snapshot(): Dcp {
    this.#settle();
    return buildDcp({
      config: this.#config,
      fields: this.#fields,
      records: this.#records,
      bytes: this.#bytes,
      arrivals: { count: this.#arrivalCount, min: this.#arrivalMin, max: this.#arrivalMax },
      overflowFields: this.#overflowFields,
      malformed: { count: this.#malformedCount, examples: this.#malformedExamples },
      dominantFingerprint: this.#fingerprints.maxCount(),
      windows: this.#windows.summary(),
      windowSize: this.#config.window,
    });
  }

  /** The whole state as JSON, for {@link Profiler.fromJSON} in another process. */
  toJSON(): ProfilerJson {
    this.#settle();
    const { expect, timeField, ...rest } = this.#config;
    const options: ProfilerOptions = { ...rest, expect };
    if (timeField !== undefined) options.timeField = timeField;
    return {
      version: 1,
      options,
      records: this.#records,
      bytes: this.#bytes,
      arrivals: [
        this.#arrivalCount,
        Number.isFinite(this.#arrivalMin) ? this.#arrivalMin : 0,
        Number.isFinite(this.#arrivalMax) ? this.#arrivalMax : 0,
      ],
      overflowFields: this.#overflowFields,
      malformed: { count: this.#malformedCount, examples: [...this.#malformedExamples] },
      fields: this.#fields.map((field) => ({
        ...field.toJSON(),
        ...(field === this.#nonObjectRoot ? { detached: true } : {}),
      })),
      fingerprints: this.#fingerprints.toJSON(),
      windows: this.#windows.toJSON(),
    };
  }

  /**
   * Rebuilds a profiler from {@link toJSON}'s output. An open schema window is settled
   * (closed if at least half full, else dropped), since which pairs it held is not shipped.
   */
  static fromJSON(json: ProfilerJson): Profiler {
    if (json.version !== 1)
      throw new RangeError(`unsupported profiler state version ${String(json.version)}`);
    const profiler = new Profiler(json.options);
    profiler.#records = json.records;
    profiler.#bytes = json.bytes;
    profiler.#arrivalCount = json.arrivals[0];
    if (json.arrivals[0] > 0) {
      profiler.#arrivalMin = json.arrivals[1];
      profiler.#arrivalMax = json.arrivals[2];
    }
    profiler.#overflowFields = json.overflowFields;
    profiler.#malformedCount = json.malformed.count;
    profiler.#malformedExamples.push(...json.malformed.examples);
    const byId: FieldState[] = [];
    for (const fieldJson of json.fields) {
      const parent = fieldJson.parent >= 0 ? byId[fieldJson.parent] : undefined;
      const detached = fieldJson.detached === true;
      const field = profiler.#newField(parent, fieldJson.key, fieldJson.element, !detached);
      if (field === undefined)
        throw new RangeError('profiler state has more fields than maxFields');
      if (detached) profiler.#nonObjectRoot = field;
      field.restore(fieldJson);
      byId.push(field);
    }
    profiler.#fingerprints.merge(MisraGries.fromJSON(json.fingerprints));
    const windows = SchemaWindows.fromJSON(json.windows);
    windows.settle();
    profiler.#windows.merge(windows);
    return profiler;
  }
}
