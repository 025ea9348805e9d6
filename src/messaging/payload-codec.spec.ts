import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import { RemoteHandlerError, SerializationError } from '../cluster.errors.js';
import { LocalTransport } from '../transports/local.transport.js';
import { payloadCodec } from './payload-codec.js';

/** Jest's object on native ESM (no injected global there). */
const { jest } = import.meta;

const json = payloadCodec('json');
const advanced = payloadCodec('advanced');

/** The SerializationError `json` throws for `data` sent on topic `t`. */
function refusal(data: unknown): SerializationError {
  try {
    json.encode('t', data);
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  throw new Error(`encoded ${JSON.stringify(data)}`);
}

const roundTrip = (data: unknown) => json.decode(json.encode('t', data));

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe("'json' payload codec", () => {
  describe('refuses what JSON would drop or change, naming where and what', () => {
    const cycle: Record<string, unknown> = { name: 'root' };
    cycle.self = cycle;
    const inner: Record<string, unknown> = { id: 1 };
    inner.parent = { child: inner };
    let deep: Record<string, unknown> = { set: new Set([1]) };
    for (let i = 0; i < 100; i++) deep = { n: deep };

    it.each([
      ['a function property', { fn: () => 1 }, 'data.fn', 'a function, which JSON drops'],
      ['a function in an array', { list: [1, () => 1] }, 'data.list[1]', 'a function, which JSON turns into null'],
      ['a function as the data', () => 1, 'data', 'a function'],
      ['a symbol', { nested: { s: Symbol('s') } }, 'data.nested.s', 'a symbol, which JSON drops'],
      ['a Map inside an array', { items: [{}, {}, {}, { tags: new Map([['a', 1]]) }] }, 'data.items[3].tags', 'a Map, which JSON turns into {}'],
      ['a Set', { ids: new Set([1, 2]) }, 'data.ids', 'a Set, which JSON turns into {}'],
      ['a BigInt as the data', 10n, 'data', 'a BigInt (10n)'],
      ['a nested BigInt', { a: [{ b: 1n }] }, 'data.a[0].b', 'a BigInt (1n)'],
      ['a cycle to the root', cycle, 'data.self', 'a circular reference to data'],
      ['a deeper cycle', { inner }, 'data.inner.parent.child', 'a circular reference to data.inner'],
      ['NaN', { ratio: NaN }, 'data.ratio', 'NaN, which JSON turns into null'],
      ['Infinity', [1, Infinity], 'data[1]', 'Infinity, which JSON turns into null'],
      ['undefined in an array', { list: [1, undefined] }, 'data.list[1]', 'undefined in an array, which JSON turns into null'],
      ['a hole in an array', { list: [1, , 3] }, 'data.list[1]', 'undefined in an array'], // eslint-disable-line no-sparse-arrays
      ['a typed array', { samples: new Float64Array(2) }, 'data.samples', 'a Float64Array, which JSON turns into {}'],
      ['an ArrayBuffer', { raw: new ArrayBuffer(4) }, 'data.raw', 'an ArrayBuffer, which JSON turns into {}'],
      ['a RegExp', { re: /x/ }, 'data.re', 'a RegExp'],
      ['an Error', { error: new TypeError('x') }, 'data.error', 'an Error (TypeError)'],
      ['an invalid Date', { at: new Date(Number.NaN) }, 'data.at', 'an invalid Date, which JSON turns into null'],
      ['a Map inside a class instance', { shape: Object.assign(new Point(1, 2), { meta: new Map() }) }, 'data.shape.meta', 'a Map'],
      ['what a toJSON returns', { odd: { toJSON: () => ({ inner: new Set() }) } }, 'data.odd.inner', 'a Set'],
      ['a key that is not an identifier', { 'a-b': { 'x y': () => 1 } }, 'data["a-b"]["x y"]', 'a function'],
      ['a Set deeper than the quick check goes', deep, `data${'.n'.repeat(100)}.set`, 'a Set'],
    ])('%s', (_, data, path, found) => {
      const error = refusal(data);
      expect(error).toMatchObject({ code: 'CLUSTER_ERR_SERIALIZATION', topic: 't', serialization: 'json', path });
      expect(error.reason).toContain(found);
      expect(error.message).toContain(`"t"`);
      expect(error.message).toContain(`${path} is ${found}`);
      expect(error.message).toContain('nothing was sent');
    });

    it.each([
      ['a Map', new Map()],
      ['a Set', new Set()],
      ['a BigInt', 1n],
      ['a cycle', cycle],
      ['a typed array', new Uint8Array(1)],
    ])("suggests serialization: 'advanced' for %s, which it carries", (_, data) => {
      expect(refusal({ data }).message).toContain("serialization: 'advanced' carries it");
    });

    it("does not suggest 'advanced' for a function, which it cannot carry either", () => {
      expect(refusal({ fn: () => 1 }).message).not.toContain('advanced');
    });

    it('a getter that throws: SerializationError with its message', () => {
      const data = {
        get broken(): never {
          throw new Error('no value');
        },
      };
      expect(refusal(data).message).toContain('no value');
    });

    it('names the first problem in the order JSON.stringify meets them', () => {
      expect(refusal({ a: 1, b: [0, new Set()], c: () => 1 }).path).toBe('data.b[1]');
    });
  });

  describe('allows, and says what arrives', () => {
    it('plain data, unchanged', () => {
      const data = { s: 'x', n: -1.5, t: true, f: false, z: null, list: [1, 'a', [null, { deep: [] }]], empty: {} };
      expect(roundTrip(data)).toEqual(data);
    });

    it('undefined object properties: omitted, as JSON means', () => {
      expect(json.encode('t', { a: 1, gone: undefined, nested: { gone: undefined } })).toBe('{"a":1,"nested":{}}');
    });

    it('undefined as the data: nothing to encode', () => {
      expect(json.encode('t', undefined)).toBeUndefined();
      expect(json.decode(undefined)).toBeUndefined();
    });

    it('a Date: its ISO string', () => {
      expect(roundTrip({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' });
      expect(roundTrip(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    });

    it('an object with toJSON: what toJSON returns (given its key)', () => {
      const money = { amount: 5n, toJSON: (key: string) => ({ key, amount: '5' }) };
      expect(roundTrip({ price: money })).toEqual({ price: { key: 'price', amount: '5' } });
      class Id {
        constructor(private readonly raw: bigint) {}
        toJSON(): string {
          return `id-${this.raw}`;
        }
      }
      expect(roundTrip([new Id(7n)])).toEqual(['id-7']);
    });

    it("a Buffer: its toJSON, { type: 'Buffer', data: [...] }, which Buffer.from(x.data) turns back", () => {
      const arrived = roundTrip({ bytes: Buffer.from('hi') }) as { bytes: { type: string; data: number[] } };
      expect(arrived.bytes).toEqual({ type: 'Buffer', data: [104, 105] });
      expect(Buffer.from(arrived.bytes.data).toString()).toBe('hi');
    });

    it('a class instance: its own enumerable properties (not its getters or class)', () => {
      expect(roundTrip({ p: new Point(3, 4) })).toEqual({ p: { x: 3, y: 4 } });
    });

    it('objects without a prototype, boxed primitives, and one object reached twice (not a cycle)', () => {
      const shared = { id: 1 };
      const bare = Object.assign(Object.create(null) as object, { a: 1 });
      expect(roundTrip({ bare, boxed: [Object(1), Object('s'), Object(true)], one: shared, two: [shared] })).toEqual({
        bare: { a: 1 },
        boxed: [1, 's', true],
        one: { id: 1 },
        two: [{ id: 1 }],
      });
    });

    it('deep nesting past the quick check', () => {
      let deep: unknown = { leaf: true };
      for (let i = 0; i < 200; i++) deep = { n: [deep] };
      expect(roundTrip(deep)).toEqual(deep);
    });

    it('a large payload', () => {
      const rows = Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `row ${i}`, values: [i, i / 3], at: new Date(i) }));
      expect((roundTrip({ rows }) as { rows: unknown[] }).rows).toHaveLength(2_000);
    });
  });
});

describe("'advanced' payload codec", () => {
  it('still carries Map, Set, BigInt, typed arrays and cycles', () => {
    const data: Record<string, unknown> = { map: new Map([['a', 1]]), set: new Set([1]), big: 2n ** 70n, bytes: new Uint8Array([1, 2]), nan: NaN };
    data.self = data;
    const arrived = advanced.decode(advanced.encode('t', data)) as Record<string, unknown>;
    expect(arrived.map).toEqual(new Map([['a', 1]]));
    expect(arrived.set).toEqual(new Set([1]));
    expect(arrived.big).toBe(2n ** 70n);
    expect(arrived.bytes).toEqual(new Uint8Array([1, 2]));
    expect(arrived.nan).toBeNaN();
    expect(arrived.self).toBe(arrived);
  });

  it('refuses a function with SerializationError', () => {
    expect(() => advanced.encode('t', { fn: () => 1 })).toThrow(SerializationError);
  });
});

describe('ClusterService refuses at the call', () => {
  async function standaloneApp() {
    const transport = new LocalTransport();
    const moduleRef = await Test.createTestingModule({
      imports: [ClusterModule.forRoot({ transport, requestTimeoutMs: 500, isGlobal: true })],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    return { app, transport, cluster: app.get(ClusterService) };
  }

  it('throws SerializationError and sends nothing; the next good message goes through', async () => {
    const { app, transport, cluster } = await standaloneApp();
    const sent = jest.spyOn(transport, 'send');
    const heard = firstValueFrom(cluster.on('news').pipe(take(1), toArray()));

    expect(() => cluster.publish('news', { items: [{ tags: new Set(['a']) }] }, { includeSelf: true })).toThrow(
      expect.objectContaining({ code: 'CLUSTER_ERR_SERIALIZATION', topic: 'news', path: 'data.items[0].tags' }),
    );
    expect(() => cluster.send(0, 'news', { fn: () => 1 })).toThrow(SerializationError);
    cluster.handle('echo', (data) => data);
    await expect(cluster.request('echo', { n: 1n })).rejects.toMatchObject({ path: 'data.n' });
    expect(sent).not.toHaveBeenCalled();

    cluster.publish('news', { ok: true }, { includeSelf: true });
    expect((await heard).map((m) => m.data)).toEqual([{ ok: true }]);
    await app.close();
  });

  it("a handler's reply that JSON cannot carry fails the request, naming the path", async () => {
    const { app, cluster } = await standaloneApp();
    cluster.handle('lookup', () => ({ found: new Map([['a', 1]]) }));
    const error = await cluster.request('lookup', null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteHandlerError);
    expect(error).toMatchObject({ remoteCode: 'CLUSTER_ERR_SERIALIZATION' });
    expect((error as RemoteHandlerError).remoteMessage).toContain('data.found is a Map');
    await app.close();
  });
});
