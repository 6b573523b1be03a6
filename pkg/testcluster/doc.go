// Package testcluster runs a whole klite cluster inside `go test`: embedded etcd on free ports
// with its data in a temporary directory, the API server on 127.0.0.1 over TLS with an admin
// credential, the scheduler, the controller manager with every controller, and simulated nodes
// (KWOK-style: they register, renew their Leases and run bound pods without running anything).
// Every component talks to the API server through client-go, exactly as in `klite server`.
//
// One call starts it; it stops, with every goroutine it started, when the test ends:
//
//	func TestWeb(t *testing.T) {
//		c := testcluster.Start(t, testcluster.WithNodes(5))
//		client := c.Client() // or c.Config() for any client-go client
//		// create a Deployment, wait for its pods to become Ready on node-0 … node-4, …
//	}
//
// Start returns once every node is Ready and the default ServiceAccount exists, so pods can be
// created at once. Options size the nodes (WithNodes, WithNodeResources, WithNodeLabels,
// WithNodeTaints, WithNodePool), pick the controllers (WithControllers) and shorten the node
// monitor grace period (WithNodeMonitorGracePeriod); StopPool stops one pool's simulated kubelet
// to see what the cluster does when nodes die. Outside tests, New and Stop do the same with a
// context.
//
// Simulated pods become Running and Ready as soon as they are bound; pods with restartPolicy
// Never or OnFailure succeed after the job duration (WithJobDuration). Nothing runs, so images,
// probes, volumes and networking are not exercised; use klite's real kubelet for those.
package testcluster
