import type { FunctionContext } from '../../../src/index.js';
import type { AccountBalance, LedgerEntry } from './types.js';

/**
 * Keyed by `account`: adds each entry to the account's running balance (in state)
 * and emits the balance; the ledger keeps the latest per account, so after the
 * stream it holds every account's total and number of entries, whatever the order
 * in which the two branches' entries arrived.
 */
export async function post(entry: LedgerEntry, ctx: FunctionContext): Promise<AccountBalance> {
  const balance = (await ctx.state.get<AccountBalance>('balance')) ?? {
    account: entry.account,
    balance_cents: 0,
    entries: 0,
  };
  balance.balance_cents += entry.amount_cents;
  balance.entries += 1;
  await ctx.state.set('balance', balance);
  return balance;
}
