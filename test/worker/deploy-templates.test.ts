import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NO_WORK } from '../helpers/run-result.js';
import { ResourceSession } from '../../src/execute/resource-session.js';
import { SinkFiles } from '../../src/execute/sinks.js';
import type { Rac } from '../../src/provision/rac.js';
import type { Template } from '../../src/template/types.js';
import { WorkerClient } from '../../src/worker/client.js';
import type { DataPlane } from '../../src/worker/dataplane-contract.js';
import {
  deployTemplateId,
  splitDeploySpec,
  type DeploySpec,
} from '../../src/worker/dataplane/deploy-spec.js';
import { DeployTemplates } from '../../src/worker/deploy-templates.js';
import { WorkerServer } from '../../src/worker/worker-server.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A whole spec of one run of a tiny flow, named by its template's id. */
function specOf(execution: string, nodes = ['src', 'f']): DeploySpec {
  const template = {
    name: 't',
    nodes: nodes.map((id) => ({ id, kind: id === 'src' ? 'source' : 'function' })),
    edges: [],
  } as unknown as Template;
  const part = {
    template,
    node_ids: nodes,
    type_keys: {},
    type_stores: {},
    seeds: [],
  };
  return {
    execution_id: execution,
    template_id: deployTemplateId(part),
    ...part,
    stores: {},
    state_stores: {},
    sources: [{ mode: 'file', node_id: 'src', type: 'T', path: `/data/${execution}.jsonl` }],
  };
}

/** The run part of `spec`, naming its template. */
function runPart(spec: DeploySpec): ReturnType<typeof splitDeploySpec>['run'] & {
  template_id: string;
} {
  return { ...splitDeploySpec(spec).run, template_id: spec.template_id! };
}

describe('DeployTemplates', () => {
  it('makes a run part whole with the template kept from an earlier whole spec', () => {
    const templates = new DeployTemplates();
    const first = specOf('e1');
    expect(templates.resolve(first)).toBe(first);
    expect(() => templates.resolve(runPart(specOf('e2')))).toThrow(
      expect.objectContaining({ code: 'E_UNKNOWN_VERSION' }),
    );
    templates.keep(first);
    const second = specOf('e2');
    expect(templates.resolve(runPart(second))).toEqual(second);
  });

  it('never keeps a template under an id its content does not hash to', () => {
    const templates = new DeployTemplates();
    const forged = { ...specOf('e1', ['src', 'g']), template_id: specOf('x').template_id! };
    templates.keep(forged);
    expect(templates.holds(forged.template_id)).toBe(false);
    expect(() => templates.resolve(runPart(specOf('e2')))).toThrow(/does not hold/);
  });

  it('holds a template sent ahead of its runs only under the id it hashes to', () => {
    const templates = new DeployTemplates();
    const spec = specOf('e1');
    const part = splitDeploySpec(spec).template;
    expect(templates.hold(specOf('x', ['src', 'g']).template_id!, part)).toBe(false);
    expect(templates.holds(spec.template_id!)).toBe(false);
    expect(templates.hold(spec.template_id!, part)).toBe(true);
    expect(templates.resolve(runPart(spec))).toEqual(spec);
  });

  it('drops the least recently used template past its limit', () => {
    const templates = new DeployTemplates(2);
    const [a, b, c] = [
      ['src', 'a'],
      ['src', 'b'],
      ['src', 'c'],
    ].map((n) => specOf('e', n));
    templates.keep(a);
    templates.keep(b);
    templates.resolve(runPart(a)); // a is now the most recently used
    templates.keep(c);
    expect([a, b, c].map((s) => templates.holds(s.template_id!))).toEqual([true, false, true]);
  });
});

describe('df.run naming a template the worker holds', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const done of cleanup.splice(0).reverse()) await done();
  });

  /** A worker whose data plane records each spec it gets and ends the run at once. */
  async function worker(): Promise<{
    address: string;
    specs: DeploySpec[];
    templatesSent: string[];
  }> {
    const specs: DeploySpec[] = [];
    const templatesSent: string[] = [];
    const dataPlane: DataPlane = {
      handle(message, _payload, connection) {
        if (message.type === 'df.template') templatesSent.push(message.template_id);
        if (message.type === 'df.template') connection.reply(message, {});
        if (message.type !== 'df.run') return;
        specs.push(message.spec);
        connection.reply(message, { result: NO_WORK });
      },
      close: async () => {},
    };
    const server = new WorkerServer({
      token: 'right',
      resourceId: 'r1',
      nodeIds: ['src', 'f'],
      dataPlane,
      log: silent,
    });
    const address = await server.listen();
    cleanup.push(() => server.close());
    return { address, specs, templatesSent };
  }

  async function connect(address: string): Promise<WorkerClient> {
    const client = await WorkerClient.connect(address, 'right');
    cleanup.push(() => client.close());
    return client;
  }

  function session(client: WorkerClient, spec: DeploySpec): ResourceSession {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmflow-templates-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return new ResourceSession({
      client,
      rac: { resource_id: 'r1', node_id: 'f', node_ids: ['src', 'f'] } as Rac,
      warm: true,
      spec,
      sinks: new SinkFiles(dir),
    });
  }

  it('refuses a run part until the worker got the spec whole, then makes it whole', async () => {
    const { address, specs } = await worker();
    const client = await connect(address);
    const second = specOf('e2');
    await expect(client.request({ type: 'df.run', spec: runPart(second) })).rejects.toMatchObject({
      code: 'E_UNKNOWN_VERSION',
    });
    expect(specs).toEqual([]);
    const first = specOf('e1');
    await client.request({ type: 'df.run', spec: first });
    await client.request({ type: 'df.run', spec: runPart(second) });
    expect(specs).toEqual([first, second]);
  });

  it('takes a template sent ahead (df.template) for the runs naming it, never a forged one', async () => {
    const { address, specs, templatesSent } = await worker();
    const client = await connect(address);
    const first = specOf('e1');
    const { template } = splitDeploySpec(first);
    // A part that does not hash to the id it is sent under is refused, and not kept.
    const otherId = specOf('x', ['src', 'g']).template_id!;
    await expect(
      client.request({ type: 'df.template', template_id: otherId, template }),
    ).rejects.toMatchObject({ code: 'E_DEPLOY', message: expect.stringMatching(/does not hash/) });
    expect(templatesSent).toEqual([]);
    await client.request({ type: 'df.template', template_id: first.template_id!, template });
    expect(templatesSent).toEqual([first.template_id]);
    await client.request({ type: 'df.run', spec: runPart(first) });
    expect(specs).toEqual([first]);
  });

  it('sends a spec whole once per connection, and again to a worker that no longer holds it', async () => {
    const { address, specs } = await worker();
    const client = await connect(address);
    const sent = vi.spyOn(client, 'request');
    await session(client, specOf('e1')).run();
    expect(client.templates.has(specOf('e1').template_id!)).toBe(true);
    await session(client, specOf('e2')).run();
    expect(sent.mock.calls.map(([m]) => 'spec' in m && 'template' in m.spec)).toEqual([
      true,
      false,
    ]);
    expect(specs).toEqual([specOf('e1'), specOf('e2')]);
    // A connection that believes the worker holds the template, to a worker that does not.
    const fresh = await worker();
    const stale = await connect(fresh.address);
    stale.templates.add(specOf('e3').template_id!);
    await session(stale, specOf('e3')).run();
    expect(fresh.specs).toEqual([specOf('e3')]);
  });
});
