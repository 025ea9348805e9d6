import { controlPaths } from './control-paths.js';
import { readScaleArgument, scaleTarget } from '../common/scale-argument.js';
import { readRequest } from './control-protocol.js';

describe('the control protocol', () => {
  it('reads a request with its token and verb, and the slot of describe', () => {
    expect(readRequest('{"token":"t","verb":"status"}')).toEqual({ token: 't', verb: 'status' });
    expect(readRequest('{"token":"t","verb":"describe","slot":2}')).toEqual({ token: 't', verb: 'describe', slot: 2 });
    expect(readRequest('{"token":"t","verb":"scale","workers":"-2"}')).toEqual({ token: 't', verb: 'scale', workers: '-2' });
  });

  it('reads a scale argument as a count or a change of the current one, within 1 to 4096', () => {
    expect(scaleTarget('4', 2)).toEqual({ workers: 4 });
    expect(scaleTarget('+2', 2)).toEqual({ workers: 4 });
    expect(scaleTarget('-1', 2)).toEqual({ workers: 1 });
    expect(scaleTarget('0', 2)).toEqual({ allowed: 'a worker count from 1 to 4096' });
    expect(scaleTarget('5000', 2)).toEqual({ allowed: 'a worker count from 1 to 4096' });
    expect(scaleTarget('-2', 2)).toEqual({ allowed: 'a change that leaves from 1 to 4096 workers (there are 2: -2 would leave 0)' });
  });

  it.each<[unknown, string | undefined]>([
    [4, '4'],
    ['4', '4'],
    ['+2', '+2'],
    ['-1', '-1'],
    [0, '0'],
    [-2, undefined],
    [2.5, undefined],
    [123_456, undefined],
    ['2.5', undefined],
    ['lots', undefined],
    ['', undefined],
    [null, undefined],
  ])('reads %p as the scale argument %p', (value, read) => {
    expect(readScaleArgument(value)).toBe(read);
  });

  it.each([
    ['not json', 'the request is not JSON'],
    ['[1]', 'the request carries no token'],
    ['{"verb":"status"}', 'the request carries no token'],
    ['{"token":"t","verb":"scale!"}', 'unknown verb "scale!": one of status, describe, reload, scale, logs, stop'],
    ['{"token":"t","verb":"scale","workers":"x2"}', 'scale needs a worker count or a change of it (4, +2, -1), got "x2"'],
    ['{"token":"t","verb":"scale"}', 'scale needs a worker count or a change of it (4, +2, -1), got undefined'],
    ['{"token":"t","verb":"describe","slot":-1}', 'describe needs a slot (an integer >= 0), got -1'],
  ])('refuses %s, saying why', (line, why) => {
    expect(readRequest(line)).toBe(why);
  });
});

describe('where the control socket is', () => {
  it("is the option's path, with the token beside it", () => {
    expect(controlPaths('orders', '/run/app/ctl.sock')).toEqual({
      socket: '/run/app/ctl.sock',
      token: '/run/app/ctl.sock.token',
      folder: '/run/app',
      ownFolder: false,
    });
  });

  it("is none with 'off'", () => {
    expect(controlPaths('orders', 'off')).toBeUndefined();
  });

  it('is <name>.sock in $XDG_RUNTIME_DIR/nestjs-cluster, else in a per-user folder of the temp dir', () => {
    expect(controlPaths('orders', undefined, { XDG_RUNTIME_DIR: '/run/user/1000' })).toMatchObject({
      socket: '/run/user/1000/nestjs-cluster/orders.sock',
      ownFolder: true,
    });
    expect(controlPaths('orders', undefined, {})!.folder).toMatch(new RegExp(`nestjs-cluster-${process.getuid?.()}$`));
  });
});
