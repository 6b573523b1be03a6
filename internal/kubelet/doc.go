/*
Package kubelet is klite's node agent: it registers the Node, renews its
Lease, turns the pods bound to the node (and the static pods in its
manifest directory) into sandboxes and containers through the CRI, probes
them, mounts their volumes, reports their status and events, and serves
the kubelet API (logs, exec, port-forward) on :10250.

The flow

	API server ──informer (spec.nodeName=<node>)──┐
	manifest dir ──static pods (every 2 s)────────┤
	                                              ▼
	                        dispatch: one podWorker per pod UID
	                                              │  (on change, every ResyncPeriod)
	                                              ▼
	   syncPod: volumes → sandbox → init containers in order (sidecars stay up)
	            → containers (restartPolicy, back-off) → probes → status
	                                              │
	          CRI (RuntimeService, ImageService) ◄┘──► pods/status (skipped when unchanged),
	                                                   events (Pulling, Pulled, Created,
	                                                   Started, Killing, BackOff, Unhealthy,
	                                                   FailedMount)

	runNode: register Node → every LeaseRenew renew kube-node-lease/<node>,
	         post status on change and at least every StatusPeriod
	housekeeping: every 10 s kill runtime pods nobody owns (deleted while away)
	server: the kubelet API on :10250 (see server.go)

Vocabulary

  - worker: the goroutine owning one pod. It alone touches the pod's
    containers, its back-off, probe and waiting-reason state.
  - attempt: a container's CRI metadata attempt; it is the restartCount. The
    newest instance and the one before it are kept (lastState, logs
    --previous); older ones are removed.
  - back-off: the first restart is immediate, then BackoffInitial doubling to
    BackoffMax, measured from the last exit; 10 minutes of running resets it.
  - static pod: a pod from a manifest file; its UID is a hash of the file
    and the node, so it survives kubelet restarts; its mirror pod in the API
    server carries kubernetes.io/config.mirror and receives its status.
  - adoption: nothing is kept in memory that the runtime does not also
    hold; a new kubelet finds sandboxes and containers by the
    io.kubernetes.pod.uid label and carries on (same IDs, same counts).

Pod lifecycle of a worker

	new ──► syncPod (repeat) ──► deletionTimestamp ──► killPod (preStop, SIGTERM,
	                 │                                   grace, SIGKILL, sandbox)
	                 │                                   ──► DELETE grace 0 (confirm)
	                 └──► phase Succeeded/Failed ──► sandbox stopped, containers kept
	removed from the API server / manifest ──► killPod ──► worker exits
*/
package kubelet
