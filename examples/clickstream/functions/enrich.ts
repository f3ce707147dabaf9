import type { FunctionContext } from '../../../src/index.js';
import type { Click, EnrichedClick, UserProfile } from './types.js';

/**
 * Adds the user's country and plan. The profile is the flow's second input type,
 * `UserProfile`, which lives in the `profiles` store keyed by `user_id`:
 * `ctx.input('UserProfile')` looks it up by this click's `user_id`. Users without a
 * profile (every tenth in the example data) get country null and plan "anonymous".
 */
export async function enrich(click: Click, ctx: FunctionContext): Promise<EnrichedClick> {
  const profile = await ctx.input<UserProfile>('UserProfile');
  return {
    ...click,
    country: profile?.country ?? null,
    plan: profile?.plan ?? 'anonymous',
  };
}
