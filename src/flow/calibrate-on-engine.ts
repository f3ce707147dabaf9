import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import { Claim } from '../provision/pool/claim.js';
import type { Provider } from '../provision/provider.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { StoreSpec } from '../template/types.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import { executeDataflow, provisionResources, type Placed } from '../execute/execution-manager.js';
import { fitGroupRprs, groupParallelism } from '../execute/plan.js';
import { ruleRprs } from '../predictor/rule-rprs.js';
import { chunkBytesFor } from '../sources/jsonl-chunks.js';

/** Options of {@link calibrateOnEngine}. */
export interface EngineCalibrationOptions {
  /** Sample records per stream name; every stream of the flow needs one. */
  samples: Record<string, unknown[]>;
  /** The placement groups the real run will use. */
  groups: string[][];
  provider: Provider;
  tenant?: string;
  /** Records per pass per stream: the sample is repeated up to this (default 10,000). */
  recordsPerPass?: number;
  /** Warm passes after the cold one (default 2). */
  warmPasses?: number;
  /**
   * Bytes of the real input per stream: file sources are then read in the chunks that input
   * would be (a 10,000-record sample file would get smaller ones, and hold less read-ahead).
   */
  inputBytes?: Record<string, number>;
}

/**
 * Calibrates a flow on the real engine: writes each stream's sample (repeated up to
 * `recordsPerPass`) to a temporary file, provisions one resource per placement group with
 * the threads the real run will get, and runs the flow on them once cold and
 * `warmPasses` times warm. Every store of the catalogue is replaced by a temporary SQLite
 * file (memory stores stay memory) and sinks go to the temporary folder, so calibration
 * never writes where the real run does. Throws when a stream has no sample or a pass fails.
 */
export async function calibrateOnEngine(
  flow: LoadedFlow,
  options: EngineCalibrationOptions,
): Promise<EngineCalibration> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warmflow-engine-calibration-'));
  const tenant = options.tenant ?? 'default';
  const perPass = options.recordsPerPass ?? 10_000;
  const warmPasses = options.warmPasses ?? 2;
  const placed: Placed[] = [];
  try {
    const inputs: Record<string, string> = {};
    const recordsPerPass: Record<string, number> = {};
    let bytes = 0;
    let count = 0;
    for (const stream of Object.keys(flow.spec.streams ?? {})) {
      const sample = options.samples[stream];
      if (sample === undefined || sample.length === 0)
        throw new WarmflowError('E_CALIBRATION', `no sample of stream "${stream}"`);
      const lines = sample.map((r) => JSON.stringify(r));
      const repeat = Math.max(1, Math.floor(perPass / lines.length));
      const text = lines.join('\n') + '\n';
      bytes += text.length;
      count += lines.length;
      const file = path.join(dir, `${stream}.jsonl`);
      await writeFile(file, text.repeat(repeat));
      inputs[stream] = file;
      recordsPerPass[stream] = lines.length * repeat;
    }
    const stores: Record<string, StoreSpec> = {};
    for (const [name, spec] of Object.entries(flow.spec.stores ?? {}))
      stores[name] =
        spec.kind === 'memory'
          ? { kind: 'memory' }
          : { kind: 'sqlite', path: path.join(dir, `${name}.db`) };

    const capacity = await options.provider.capacity();
    const rprs = fitGroupRprs(
      ruleRprs(flow.template, count > 0 ? bytes / count : 200),
      options.groups,
      Math.max(1, capacity.cpu_cores - capacity.allocated.cpu_cores),
    );
    const provisioned = await provisionResources(
      { flow, rprs, stores },
      options.provider,
      tenant,
      options.groups,
    );
    placed.push(...provisioned.placed);
    // The same resources for every pass, handed out the way a warm pool hands out a set.
    const claim = new Claim({
      claim_id: randomUUID(),
      tenant,
      template: flow.template.name,
      set_id: `calibration-${randomUUID()}`,
      token: provisioned.token,
      resources: placed,
    });
    const pool = { claim: () => claim, release: () => Promise.resolve() };
    const threads = Math.max(...options.groups.map((g) => groupParallelism(rprs, g)));
    const realBytes = Math.max(0, ...Object.values(options.inputBytes ?? {}));
    const chunkBytes = realBytes > 0 ? chunkBytesFor(realBytes, threads) : undefined;
    const statuses: CompletionStatus[] = [];
    for (let pass = 0; pass <= warmPasses; pass++) {
      const status = await executeDataflow(
        {
          tenant,
          flow,
          rprs,
          groups: options.groups,
          inputs,
          out_dir: path.join(dir, 'out'),
          stores,
          ...(chunkBytes !== undefined ? { chunk_bytes: chunkBytes } : {}),
        },
        { provider: options.provider, pool },
      );
      if (status.outcome !== 'succeeded')
        throw new WarmflowError(
          'E_CALIBRATION',
          `calibration pass ${pass + 1} ${status.outcome}: ${status.error?.message ?? ''}`,
        );
      statuses.push(status);
    }
    return summarize(statuses, options.groups, rprs, warmPasses, recordsPerPass);
  } finally {
    for (const p of placed) {
      p.client.close();
      await options.provider.release(p.rac.resource_id).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function summarize(
  statuses: CompletionStatus[],
  groups: string[][],
  rprs: Parameters<typeof groupParallelism>[0],
  warmPasses: number,
  recordsPerPass: Record<string, number>,
): EngineCalibration {
  const [cold, ...warm] = statuses;
  const nodes: EngineCalibration['nodes'] = {};
  for (const node of cold.nodes) {
    const warmOf = warm.map((s) => s.nodes.find((n) => n.node_id === node.node_id)!);
    const records = warmOf.reduce((s, n) => s + n.records_in, 0);
    const cpuUs = warmOf.reduce((s, n) => s + n.cpu_seconds * 1e6, 0);
    const perRecord = records > 0 ? cpuUs / records : 0;
    nodes[node.node_id] = {
      records_in: node.records_in,
      records_out: node.records_out,
      warm_cpu_us_per_record: perRecord,
      cold_extra_cpu_us: Math.max(0, node.cpu_seconds * 1e6 - perRecord * node.records_in),
      keys: warmOf.at(-1)?.state_keys ?? node.state_keys ?? 0,
    };
  }
  // Wall time of the warm passes once their resources were ready.
  const warmSeconds = warm.reduce(
    (s, status) =>
      s + Math.max(0, status.timings.total_ms - status.timings.request_to_ready_ms) / 1000,
    0,
  );
  const warmRecords = warm.reduce((s, status) => s + status.records.in, 0);
  return {
    warm_passes: warmPasses,
    records_per_pass: recordsPerPass,
    ...(warmSeconds > 0 && warmRecords > 0
      ? { warm_records_per_second: Math.round((warmRecords / warmSeconds) * 100) / 100 }
      : {}),
    nodes,
    groups: groups.map((group) => ({
      node_ids: group,
      threads: groupParallelism(rprs, group),
      peak_rss_bytes: Math.max(
        0,
        ...statuses.flatMap((s) =>
          s.nodes.filter((n) => group.includes(n.node_id)).map((n) => n.peak_memory_bytes),
        ),
      ),
    })),
  };
}
