import { HealthIndicatorService } from '@nestjs/terminus';
import type { ClusterService } from '../cluster.service.js';
import type { ClusterState } from '../interfaces/worker-info.interface.js';
import { ClusterHealthIndicator } from './cluster.health.js';

/** The part of `ClusterService` the readiness indicator reads. */
function indicatorOver(view: { draining: boolean; state: Partial<ClusterState> }): ClusterHealthIndicator {
  const cluster = {
    self: { node: 'n', id: 1, slot: 2, pid: 42 },
    get draining() {
      return view.draining;
    },
    state: () => ({ expectedWorkers: 2, crashLoop: false, dropped: {}, ...view.state }),
  } as unknown as ClusterService;
  return new ClusterHealthIndicator(new HealthIndicatorService(), cluster);
}

describe('ClusterHealthIndicator.isAcceptingTraffic', () => {
  it('is up while the worker serves and its node is not stopping', () => {
    expect(indicatorOver({ draining: false, state: {} }).isAcceptingTraffic('traffic')).toEqual({
      traffic: { status: 'up', slot: 2, pid: 42, draining: false, stopping: false },
    });
  });

  it('is down as soon as the node stops, while the worker still serves (shutdown.delayMs)', () => {
    expect(indicatorOver({ draining: false, state: { stopping: true } }).isAcceptingTraffic('traffic')).toEqual({
      traffic: { status: 'down', slot: 2, pid: 42, draining: false, stopping: true },
    });
  });

  it('is down once the worker drains', () => {
    expect(indicatorOver({ draining: true, state: { stopping: false } }).isAcceptingTraffic('traffic')).toEqual({
      traffic: { status: 'down', slot: 2, pid: 42, draining: true, stopping: false },
    });
  });
});
