import { ReplicaSet as LabReplicaSet, type ReplicaSetOptions } from '../../firmware-mocks/replica-set.js'
import { fencegateBin } from '../e2e/demo-bin.js'

// The launcher lives in firmware-mocks/replica-set.ts (the replica bench starts it too); tests
// start it on this checkout's build.
export { OPERATOR_TOKEN, type Replica, TOKEN, admitting, call } from '../../firmware-mocks/replica-set.js'

export type ReplicaSet = LabReplicaSet

/** Three `fencegate serve` replicas over a lab and a real etcd cluster, on fencegateBin(). */
export const ReplicaSet = {
  start: async (opts: Omit<ReplicaSetOptions, 'bin'>): Promise<ReplicaSet> =>
    LabReplicaSet.start({ ...opts, bin: await fencegateBin() }),
}
