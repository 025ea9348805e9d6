import type { WorkerInfo } from '../../interfaces/worker-info.interface.js';
import { RemoteNodes } from './remote-nodes.js';

const worker = (node: string, slot: number, state: WorkerInfo['state'] = 'ready', id = slot + 1): WorkerInfo => ({
  node,
  id,
  slot,
  pid: 100 + slot,
  state,
  startedAt: 0,
  readyAt: 0,
  restarts: 0,
  congested: false,
});

describe('RemoteNodes', () => {
  it('says when a node joins and when its workers or topics change', () => {
    const nodes = new RemoteNodes(6_000);
    expect(nodes.heard({ node: 'b', workers: [worker('b', 0, 'starting')], topics: [] }, 0)).toBe('joined');
    expect(nodes.heard({ node: 'b', workers: [worker('b', 0, 'starting')], topics: [] }, 2_000)).toBe('same');
    expect(nodes.heard({ node: 'b', workers: [worker('b', 0)], topics: [] }, 4_000)).toBe('changed');
    expect(nodes.heard({ node: 'b', workers: [worker('b', 0)], topics: ['t'] }, 6_000)).toBe('changed');
    expect(nodes.knows('b')).toBe(true);
  });

  it('expires a node silent for expiryMs, and not one heard within it', () => {
    const nodes = new RemoteNodes(6_000);
    nodes.heard({ node: 'b', workers: [], topics: [] }, 0);
    nodes.heard({ node: 'c', workers: [], topics: [] }, 3_000);
    expect(nodes.expire(5_999)).toEqual([]);
    expect(nodes.expire(6_000)).toEqual(['b']);
    expect(nodes.nodes()).toEqual(['c']);
  });

  it('takes the leader of the latest epoch, and none heard before the link went down until heard again', () => {
    const nodes = new RemoteNodes(6_000);
    const leader = (node: string, epoch: number) => ({ node, slot: 0, pid: 100, epoch });
    nodes.heard({ node: 'b', workers: [worker('b', 0)], topics: [], leader: leader('b', 3) }, 0);
    nodes.heard({ node: 'c', workers: [worker('c', 0)], topics: [], leader: leader('c', 2) }, 0);
    expect(nodes.leader()).toEqual(leader('b', 3));
    nodes.forgetLeaders();
    expect(nodes.leader()).toBeNull();
    expect(nodes.nodes()).toEqual(['b', 'c']); // the members stay as they were
    expect(nodes.heard({ node: 'b', workers: [worker('b', 0)], topics: [], leader: leader('b', 3) }, 2_000)).toBe('changed');
    expect(nodes.leader()).toEqual(leader('b', 3));
  });

  it('starts every silence over when the link comes back', () => {
    const nodes = new RemoteNodes(6_000);
    nodes.heard({ node: 'b', workers: [], topics: [] }, 0);
    nodes.restartClocks(10_000);
    expect(nodes.expire(15_000)).toEqual([]);
    expect(nodes.expire(16_000)).toEqual(['b']);
  });

  it('knows which addresses have a ready worker and which nodes handle a topic, in turn', () => {
    const nodes = new RemoteNodes(6_000);
    nodes.heard({ node: 'b', workers: [worker('b', 0), worker('b', 1, 'draining')], topics: ['t'] }, 0);
    nodes.heard({ node: 'c', workers: [worker('c', 0)], topics: ['t', 'u'] }, 0);
    expect(nodes.serves({ node: 'b', slot: 0 })).toBe(true);
    expect(nodes.serves({ node: 'b', slot: 1 })).toBe(false);
    expect(nodes.serves({ node: 'z', slot: 0 })).toBe(false);
    expect(nodes.handlersOf('u')).toEqual(['c']);
    expect([nodes.handlersOf('t')[0], nodes.handlersOf('t')[0], nodes.handlersOf('t')[0]]).toEqual(['b', 'c', 'b']);
    expect(nodes.workers().map((w) => `${w.node}/${w.slot}`)).toEqual(['b/0', 'b/1', 'c/0']);
    expect(nodes.forget('b')).toBe(true);
    expect(nodes.forget('b')).toBe(false);
  });
});
