import type { AppState, ProfileRecord } from '../app-state.js';
import { notFound } from '../http-error.js';
import type { FlowRecord } from '../ports.js';

/** A tenant's flow, or the one 404 (whether the id is another tenant's or nobody's). */
export function tenantFlow(state: AppState, tenant: string, id: string): FlowRecord {
  const flow = state.flows.get(tenant, id);
  if (flow === undefined) throw notFound('flow', id);
  return flow;
}

/** A tenant's profile, or the one 404. */
export function tenantProfile(state: AppState, tenant: string, id: string): ProfileRecord {
  const profile = state.profiles.get(tenant, id);
  if (profile === undefined) throw notFound('profile', id);
  return profile;
}

/** The profile a request means: the one named, else the flow's latest, else none. */
export function profileFor(
  state: AppState,
  tenant: string,
  flow: FlowRecord,
  profileId: string | undefined,
): ProfileRecord | undefined {
  if (profileId !== undefined) return tenantProfile(state, tenant, profileId);
  return flow.profile_id === null ? undefined : state.profiles.get(tenant, flow.profile_id);
}
