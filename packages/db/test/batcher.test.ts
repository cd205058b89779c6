import { describe, expect, it } from 'vitest';
import { Batcher, type BatcherOptions } from '../src/index.ts';

/** The statement batcher of the shared-link hot paths, without a database: `run` records the batches it gets. */
function recording(opts: Partial<BatcherOptions<string, string>> = {}, fail?: (inputs: readonly string[]) => unknown) {
  const batches: string[][] = [];
  const batcher = new Batcher<string, string>({
    run: async (inputs) => {
      batches.push([...inputs]);
      const err = fail?.(inputs);
      if (err) throw err;
      return inputs.map((i) => i.toUpperCase());
    },
    isolate: (err) => (err as { code?: string }).code === '23505',
    ...opts,
  });
  return { batcher, batches };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('Batcher', () => {
  it('should run what is submitted in one turn as one batch, each caller getting its own output', async () => {
    const { batcher, batches } = recording();
    const outs = await Promise.all(['a', 'b', 'c'].map((x) => batcher.submit(x)));
    expect(outs).toEqual(['A', 'B', 'C']);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('should run a lone submission on its own, without waiting for company', async () => {
    const { batcher, batches } = recording();
    expect(await batcher.submit('x')).toBe('X');
    expect(await batcher.submit('y')).toBe('Y');
    expect(batches).toEqual([['x'], ['y']]);
  });

  it('should keep at most maxInFlight batches running and batch what queues meanwhile', async () => {
    const gate = deferred();
    const batches: string[][] = [];
    let running = 0;
    let most = 0;
    const batcher = new Batcher<string, string>({
      run: async (inputs) => {
        batches.push([...inputs]);
        most = Math.max(most, ++running);
        if (inputs.includes('first')) await gate.promise;
        running--;
        return [...inputs];
      },
      isolate: () => false,
      maxInFlight: 1,
    });
    const first = batcher.submit('first');
    await new Promise((r) => setImmediate(r)); // 'first' is running now
    const later = ['b', 'c', 'd'].map((x) => batcher.submit(x));
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([['first']]);
    gate.resolve();
    expect(await Promise.all([first, ...later])).toEqual(['first', 'b', 'c', 'd']);
    expect(batches).toEqual([['first'], ['b', 'c', 'd']]);
    expect(most).toBe(1);
  });

  it('should cut batches at maxItems and maxWeight, and run an input heavier than maxWeight alone', async () => {
    const { batcher, batches } = recording({ maxItems: 2, maxWeight: 5, weight: (x) => x.length });
    await Promise.all(['a', 'b', 'c', 'dddddd', 'ee', 'fff', 'g'].map((x) => batcher.submit(x)));
    // the fifth batch waits for a free slot (four in flight at most)
    expect(batches).toEqual([['a', 'b'], ['c'], ['dddddd'], ['ee', 'fff'], ['g']]);
  });

  it("should re-run each input alone when a batch fails with one input's error, so only that caller fails", async () => {
    const conflict = Object.assign(new Error('duplicate key'), { code: '23505' });
    const { batcher, batches } = recording({}, (inputs) => (inputs.includes('bad') ? conflict : undefined));
    const outs = await Promise.allSettled(['a', 'bad', 'c'].map((x) => batcher.submit(x)));
    expect(outs.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      'A',
      'duplicate key',
      'C',
    ]);
    expect(batches).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('should fail the whole batch at once on any other error (a database that is down), then go on', async () => {
    let down = true;
    const { batcher, batches } = recording({}, () => (down ? new Error('connection refused') : undefined));
    const outs = await Promise.allSettled(['a', 'b'].map((x) => batcher.submit(x)));
    expect(outs.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    down = false;
    expect(await batcher.submit('z')).toBe('Z');
    expect(batches).toEqual([['a', 'b'], ['z']]);
  });
});
