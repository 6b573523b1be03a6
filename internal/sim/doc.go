// Package sim runs simulated nodes, the KWOK idea inside klite: it registers N Ready nodes through
// client-go, renews their Leases in kube-node-lease and their Ready condition, and plays the
// kubelet's part for pods bound to them without running anything.
//
// The flow:
//
//	Start ─▶ register nodes (create or update, status Ready) ─▶ pod informer (spec.nodeName!="")
//	   │                                                              │
//	   ├─▶ lease loop: every RenewInterval renew all Leases (worker pool)
//	   ├─▶ status loop: every StatusInterval refresh the Ready heartbeat
//	   └─▶ pod workers: bound pod ─▶ Running+Ready with an IP from the node's /24
//	                    restartPolicy Never/OnFailure ─▶ Succeeded after JobDuration
//	                    deletionTimestamp set ─▶ delete with grace period 0
//
// One pod informer serves every simulated node, and leases are renewed by a bounded pool, so a
// single process carries thousands of nodes. When Start returns nothing is renewed any more, so
// the node lifecycle controller sees the nodes go NotReady.
package sim
