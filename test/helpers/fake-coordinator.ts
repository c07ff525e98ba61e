import type { ClusterStatus } from '../../src/coordination/cluster-view.js'
import {
  type ClusterView,
  type Coordinator,
  EmbeddedCoordinator,
} from '../../src/coordination/coordinator.js'

/**
 * A replica-mode coordinator whose cluster is whatever the test says (the API and CLI tests of
 * GET /v1/cluster; etcd itself is tested in test/ha). Everything else is the embedded one's.
 */
export function fakeReplica(cluster: () => Promise<ClusterStatus>, view: ClusterView): Coordinator {
  return Object.assign(new EmbeddedCoordinator(view.replica), {
    mode: 'etcd',
    view: () => view,
    cluster,
  }) as unknown as Coordinator
}
