import { FrameQueue } from './queued-wire.js';
import type { Frame } from './node-frames.js';

const bye = (node: string): Frame => ({ t: 'bye', node });

describe('FrameQueue', () => {
  it('sends what one callback wrote at its end, a run of frames for the same channel in one message, in order', async () => {
    const sent: Array<[string, string[]]> = [];
    const queue = new FrameQueue((channel, frames) => sent.push([channel, frames.map((f) => f.node)]), 1_000);
    queue.push('x', bye('1'));
    queue.push('x', bye('2'));
    queue.push('y', bye('3'));
    queue.push('x', bye('4'));
    expect(sent).toEqual([]);
    await Promise.resolve();
    expect(sent).toEqual([
      ['x', ['1', '2']],
      ['y', ['3']],
      ['x', ['4']],
    ]);
  });

  it('sends as soon as maxFrames wait, so a burst leaves while it is written and the queue stays bounded', async () => {
    const sent: Array<[string, number]> = [];
    const queue = new FrameQueue((channel, frames) => sent.push([channel, frames.length]), 3);
    for (let i = 0; i < 7; i++) queue.push('x', bye(String(i)));
    expect(sent).toEqual([
      ['x', 3],
      ['x', 3],
    ]);
    await Promise.resolve();
    expect(sent).toEqual([
      ['x', 3],
      ['x', 3],
      ['x', 1],
    ]);
  });

  it('drops what was not sent, and sends nothing for an empty flush', async () => {
    const sent: string[] = [];
    const queue = new FrameQueue((channel) => sent.push(channel), 10);
    queue.push('x', bye('1'));
    queue.drop();
    queue.flush();
    await Promise.resolve();
    expect(sent).toEqual([]);
    queue.push('y', bye('2'));
    queue.flush();
    expect(sent).toEqual(['y']);
    await Promise.resolve();
    expect(sent).toEqual(['y']);
  });
});
