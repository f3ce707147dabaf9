import { describe, expect, it } from 'vitest';
import { LocalKeyedState } from './local-keyed-state.js';

describe('LocalKeyedState changes', () => {
  it('lists each changed key once per epoch, with every slot of it', async () => {
    const state = new LocalKeyedState({ trackChanges: true });
    await state.set('a', 'n', 1);
    await state.set('a', 'n', 2);
    await state.set('b', 'n', 1);
    await state.set('b', 'seen', { at: 3 });
    expect(state.takeChanges()).toEqual([
      ['a\u0000n', 2],
      ['b\u0000n', 1],
      ['b\u0000seen', { at: 3 }],
    ]);
    expect(state.takeChanges()).toEqual([]);
    await state.set('b', 'n', 5);
    expect(state.takeChanges()).toEqual([
      ['b\u0000n', 5],
      ['b\u0000seen', { at: 3 }],
    ]);
  });

  it('forgets the changes it drops, keeps the values, and tracks later changes again', async () => {
    const state = new LocalKeyedState({ trackChanges: true });
    await state.set('a', 'n', 1);
    await state.set('b', 'n', 1);
    state.dropChanges();
    expect(state.takeChanges()).toEqual([]);
    expect(await state.get('a', 'n')).toBe(1);
    await state.set('a', 'n', 7);
    expect(state.takeChanges()).toEqual([['a\u0000n', 7]]);
    expect(state.size).toBe(2);
  });
});
