import type { Dcp } from '../profiler/dcp.js';
import type { TemplateNode } from '../template/types.js';
import { calibrateFlow, type CalibrationOutcome } from './calibration/calibrate-flow.js';
import { applyEngineCalibration } from './calibration/engine-calibration.js';
import { hourlyCost, resolvePrices } from './cost/price-table.js';
import { functionFingerprint } from './learning/function-fingerprint.js';
import { gatherHistory, SIMILARITY_WEIGHTS, type NodeHistory } from './learning/history-context.js';
import { templateFingerprint } from './learning/template-fingerprint.js';
import { refineModel } from './learning/refine-model.js';
import { defaultFunctionModel, ioNodeModel } from './model/defaults.js';
import { cpuUsPerRecord, type FunctionModel } from './model/function-model.js';
import { DEFAULT_SIZING, type SizingPolicy } from './model/sizing.js';
import { assignGpus } from './placement/assign-gpus.js';
import { DEFAULT_PLACEMENT } from './placement/choose-store.js';
import type { PredictOptions, PredictionResult } from './prediction.js';
import type { Rpr } from './rpr.js';
import { propagateRates } from './rates/dag-rates.js';
import { sizeNode } from './size-node.js';
import { withNetworkAndStorage } from './placement/network-storage.js';
import { planGroups } from '../template/placement-groups.js';
import { learnGroupCpu } from './learning/group-cpu.js';

/**
 * Predicts one RPR per template node (functions, and also source, read and write
 * nodes, which get small allocations and their store) from the DCP, the template, a
 * calibration of each function on the sample, and past runs.
 *
 * ```ts
 * const flow = await loadFlow('examples/clickstream/flow.yaml');
 * const dcp = await profile('examples/clickstream/clicks.jsonl');
 * const { rprs, total_hourly_cost } = await predict({ flow, dcp, history: await openHistory() });
 * ```
 */
export async function predict(options: PredictOptions): Promise<PredictionResult> {
  const { flow, dcp } = options;
  const template = flow.template;
  const sizing: SizingPolicy = {
    ...DEFAULT_SIZING,
    ...(options.targetUtilisation !== undefined
      ? { targetUtilisation: options.targetUtilisation }
      : {}),
    ...(options.coreStep !== undefined ? { coreStep: options.coreStep } : {}),
    ...(options.memoryMargin !== undefined ? { memoryMargin: options.memoryMargin } : {}),
  };
  const prices = resolvePrices(options.prices);
  const bufferedRecords = options.bufferedRecords ?? 4000;
  const functions = new Map(flow.functions.map((f) => [f.name, f]));

  const priorFor = (node: TemplateNode): FunctionModel =>
    node.kind === 'function' ? defaultFunctionModel() : ioNodeModel(node.kind);
  const models = new Map<string, FunctionModel>(template.nodes.map((n) => [n.id, priorFor(n)]));

  if (options.calibrate !== false) {
    const calibration = typeof options.calibrate === 'object' ? options.calibrate : {};
    const outcomes = await calibrateFlow(flow, () => defaultFunctionModel(), calibration);
    for (const outcome of outcomes.values()) applyCalibration(models, outcome);
  }
  if (options.engineCalibration !== undefined) {
    applyEngineCalibration(models, options.engineCalibration, template, {
      bufferedRecords,
      recordSize: () => dcp.volume.avg_record_size,
    });
  }

  let histories = new Map<string, NodeHistory>();
  // What calibration (or the defaults) said before history refined it.
  const priors = new Map([...models].map(([id, m]) => [id, { ...m }]));
  if (options.history) {
    const fingerprints = new Map<string, string | null>();
    for (const node of template.nodes) {
      fingerprints.set(node.id, await functionFingerprint(functions.get(node.id)?.module ?? null));
    }
    histories = await gatherHistory(options.history, {
      templateFingerprint: templateFingerprint(template),
      tenant: options.tenant,
      fingerprints,
    });
    for (const [id, history] of histories) {
      const observations = [...history.own, ...history.shared, ...history.sameShape];
      if (observations.length === 0) continue;
      // Similar dataflows count less (SIMILARITY_WEIGHTS): same code in another shape sees
      // other data, another version of the code at this node does other work.
      const weights = [
        ...history.own.map(() => SIMILARITY_WEIGHTS.own),
        ...history.shared.map(() => SIMILARITY_WEIGHTS.same_code),
        ...history.sameShape.map(() => SIMILARITY_WEIGHTS.same_shape),
      ];
      const refined = refineModel(models.get(id)!, observations, { bufferedRecords, weights });
      if (history.apportioned) {
        refined.memory_shared = true;
        refined.notes.push('its runs shared a resource: learned its share of the resource memory');
      }
      if (history.shared.length > 0)
        refined.notes.push(
          `${history.shared.length} run(s) of the same code in flows of another shape counted at weight ${SIMILARITY_WEIGHTS.same_code}`,
        );
      if (history.sameShape.length > 0)
        refined.notes.push(
          `${history.sameShape.length} run(s) of other code at this node in flows of the same shape counted at weight ${SIMILARITY_WEIGHTS.same_shape}`,
        );
      models.set(id, refined);
    }
  }

  // Where the function nodes of a resource learned from its measured peak (split among
  // them), that peak already holds the runtime the I/O nodes would add: they add nothing.
  for (const group of options.groups ?? []) {
    const learnedShared = group.some((id) => histories.get(id)?.apportioned === true);
    if (!learnedShared) continue;
    for (const id of group) {
      const node = template.nodes.find((n) => n.id === id);
      const model = models.get(id);
      if (node === undefined || node.kind === 'function' || model === undefined) continue;
      model.memory_base_bytes = 0;
      model.memory_shared = true;
      model.notes.push(
        "its resource's memory is carried by the resource's function nodes, learned from its measured peak",
      );
    }
  }

  const dcpFor = (node: TemplateNode): Dcp => {
    const stream = node.kind === 'source' ? node.id.replace(/^source:/, '') : undefined;
    return (stream !== undefined ? options.dcps?.[stream] : undefined) ?? dcp;
  };
  const defaultRate = options.defaultRate ?? 1000;
  const rateOf = (profile: Dcp): number =>
    profile.volume.records_per_second > 0 ? profile.volume.records_per_second : defaultRate;
  const rates = propagateRates(template, {
    sourceRate: (node) => rateOf(dcpFor(node)),
    sourceRecordSize: (node) => dcpFor(node).volume.avg_record_size,
    selectivity: (id) => models.get(id)?.selectivity ?? 1,
    sizeRatio: (id) => models.get(id)?.output_size_ratio ?? 1,
    primaryInput: (id) => functions.get(id)?.input[0],
    outputTypes: (id) => functions.get(id)?.output,
  });

  const sourceRate = rateOf(dcp);
  // Records each node gets over this run: the profiled volume by its share of the source rate.
  const runRecordsOf = (id: string) =>
    sourceRate > 0
      ? dcp.volume.records * (rates.get(id)!.input_rate / sourceRate)
      : dcp.volume.records;
  for (const group of options.groups ?? []) {
    const members = group
      .filter((id) => template.nodes.find((n) => n.id === id)?.kind === 'function')
      .filter((id) => models.get(id)?.basis === 'history')
      .map((id) => ({
        id,
        model: models.get(id)!,
        prior: priors.get(id)!,
        own: histories.get(id)?.own ?? [],
        runRecords: runRecordsOf(id),
        recordSize: rates.get(id)!.input_record_size,
      }));
    if (!learnGroupCpu(members))
      splitGroupCpu(group, models, priors, () => dcp.volume.avg_record_size, template.nodes);
  }
  const placement = { ...DEFAULT_PLACEMENT, ...options.placement };
  const groupSize = new Map<string, number>();
  for (const group of options.groups ?? []) for (const id of group) groupSize.set(id, group.length);
  const nodes = template.nodes.map((node) => {
    const sized = sizeNode(
      node,
      rates.get(node.id)!,
      models.get(node.id)!,
      histories.get(node.id),
      {
        flow,
        dcp,
        sourceRate,
        sizing,
        placement,
        bufferedRecords,
        groupSize: groupSize.get(node.id) ?? 1,
      },
    );
    if (dcp.volume.records_per_second <= 0 && node.kind === 'source') {
      const reasoning = sized.rpr.reasoning!;
      sized.rpr = {
        ...sized.rpr,
        reasoning: {
          ...reasoning,
          notes: [
            ...(reasoning.notes ?? []),
            `the profile found no rate: assumed ${defaultRate} records/s`,
          ],
        },
      };
    }
    return sized;
  });

  const gpus = assignGpus(
    nodes.map((n) => ({
      node_id: n.node_id,
      gpu: functions.get(n.node_id)?.gpu ?? 'none',
      cores_needed: n.cores_needed,
    })),
    options.gpus ?? 0,
  );
  let total = 0;
  for (const n of nodes) {
    const decision = gpus.get(n.node_id)!;
    // A new RPR rather than edits to the one sizing made: documents are not changed once made.
    const placed: Rpr = {
      ...n.rpr,
      gpu_enabled: decision.gpu_enabled,
      resource_type: decision.gpu_enabled ? 'GPU' : 'CPU',
      reasoning: { ...n.rpr.reasoning!, gpu_reason: decision.reason },
    };
    const cost = hourlyCost(placed, prices);
    n.rpr = {
      ...placed,
      reasoning: { ...placed.reasoning!, hourly_cost: Math.round(cost * 1e6) / 1e6 },
    };
    total += cost;
  }
  // Bandwidth and storage need every node's store and the placement groups.
  const placedRprs = withNetworkAndStorage(nodes, {
    template,
    groups: options.groups ?? planGroups(template),
    catalogue: flow.spec.stores ?? {},
    rates,
  });
  nodes.forEach((n, i) => (n.rpr = placedRprs[i]));
  return {
    template: template.name,
    rprs: nodes.map((n) => n.rpr),
    nodes,
    total_hourly_cost: Math.round(total * 1e6) / 1e6,
    prices,
  };
}

function applyCalibration(models: Map<string, FunctionModel>, outcome: CalibrationOutcome): void {
  if ('model' in outcome) {
    models.set(outcome.node_id, outcome.model);
    return;
  }
  models.get(outcome.node_id)?.notes.push(`not calibrated: ${outcome.skipped}`);
}

/**
 * History measures a co-located group's CPU well as a whole, but its split over the
 * group's nodes — one process's CPU apportioned by busy time, where GC pauses, JIT
 * compilation and descheduling land in whichever node's batch was running — scatters
 * from run to run (bench:predict: 10 % error on a resource's total, 28 % per node). So
 * the group keeps history's total CPU per record, and each node's share of it is the
 * geometric mean of its share by history and its share by the calibration that
 * preceded it (which measured the split on other runs): two independent estimates of
 * the split, averaged.
 */
function splitGroupCpu(
  group: string[],
  models: Map<string, FunctionModel>,
  priors: Map<string, FunctionModel>,
  recordSize: (id: string) => number,
  nodes: readonly TemplateNode[],
): void {
  const ids = group.filter((id) => {
    const model = models.get(id);
    return (
      nodes.find((n) => n.id === id)?.kind === 'function' &&
      model?.basis === 'history' &&
      priors.get(id)?.basis === 'calibration'
    );
  });
  if (ids.length < 2) return;
  const size = (id: string) => models.get(id)!.calibration?.avg_record_size ?? recordSize(id);
  const learned = ids.map((id) => cpuUsPerRecord(models.get(id)!, size(id)));
  const calibrated = ids.map((id) => cpuUsPerRecord(priors.get(id)!, size(id)));
  if (learned.some((x) => !(x > 0)) || calibrated.some((x) => !(x > 0))) return;
  const total = learned.reduce((t, x) => t + x, 0);
  const totalCalibrated = calibrated.reduce((t, x) => t + x, 0);
  const weights = ids.map((_, i) =>
    Math.sqrt((learned[i] / total) * (calibrated[i] / totalCalibrated)),
  );
  const sum = weights.reduce((t, w) => t + w, 0);
  ids.forEach((id, i) => {
    const model = models.get(id)!;
    const factor = (total * weights[i]) / sum / learned[i];
    model.cpu_us_base *= factor;
    model.cpu_us_per_byte *= factor;
    model.cpu_fixed_us *= factor;
    model.notes.push(
      `CPU split over its resource's ${ids.length} function nodes by history and calibration together (×${Math.round(factor * 100) / 100} of history's own split)`,
    );
  });
}
