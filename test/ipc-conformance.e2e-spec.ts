/** The IPC transport, in real forked workers behind the library's primary, passes the conformance suite. */
import { transportConformance } from 'nestjs-cluster/testing';
import { startIpcConformanceCluster } from './helpers/ipc-conformance.js';

transportConformance('the IPC transport (forked workers)', { maxMembers: 3, shareCluster: true, create: startIpcConformanceCluster });
