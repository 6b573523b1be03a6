package controllermanager

import (
	"context"
	"log/slog"
	"sort"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/record"

	"github.com/klite/klite/internal/controllers/cronjob"
	"github.com/klite/klite/internal/controllers/daemonset"
	"github.com/klite/klite/internal/controllers/deployment"
	"github.com/klite/klite/internal/controllers/disruption"
	"github.com/klite/klite/internal/controllers/endpoints"
	"github.com/klite/klite/internal/controllers/endpointslice"
	"github.com/klite/klite/internal/controllers/garbagecollector"
	"github.com/klite/klite/internal/controllers/job"
	"github.com/klite/klite/internal/controllers/namespace"
	"github.com/klite/klite/internal/controllers/nodeipam"
	"github.com/klite/klite/internal/controllers/nodelifecycle"
	"github.com/klite/klite/internal/controllers/persistentvolume"
	"github.com/klite/klite/internal/controllers/podgc"
	"github.com/klite/klite/internal/controllers/replicaset"
	"github.com/klite/klite/internal/controllers/resourcequota"
	"github.com/klite/klite/internal/controllers/rootcacert"
	"github.com/klite/klite/internal/controllers/serviceaccount"
	"github.com/klite/klite/internal/controllers/statefulset"
	"github.com/klite/klite/internal/controllers/tainteviction"
)

// starter is a running control loop.
type starter interface {
	Start(ctx context.Context) error
}

// controllerContext is what every constructor may draw on.
type controllerContext struct {
	opts      *Options
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	factory   informers.SharedInformerFactory
	recorder  func(component string) record.EventRecorder
	logger    *slog.Logger
	rootCA    []byte
}

type newFunc func(*controllerContext) (starter, error)

// registry lists every controller by its --controllers name. A constructor returning a nil
// starter and no error means the controller cannot run in this setup and is skipped.
func registry() map[string]newFunc {
	return map[string]newFunc{
		namespace.Name: func(c *controllerContext) (starter, error) {
			return namespace.New(namespace.Config{Client: c.client, Dynamic: c.dynamic, Discovery: c.discovery,
				Namespaces: c.factory.Core().V1().Namespaces(), Logger: c.logger})
		},
		garbagecollector.Name: func(c *controllerContext) (starter, error) {
			return garbagecollector.New(garbagecollector.Config{Metadata: c.metadata, Discovery: c.discovery, Logger: c.logger, Workers: c.opts.ConcurrentGCSyncs})
		},
		replicaset.Name: func(c *controllerContext) (starter, error) {
			return replicaset.NewReplicaSet(c.replicaSetConfig("replicaset-controller"))
		},
		replicaset.NameRC: func(c *controllerContext) (starter, error) {
			return replicaset.NewReplicationController(c.replicaSetConfig("replication-controller"))
		},
		serviceaccount.Name: func(c *controllerContext) (starter, error) {
			return serviceaccount.New(serviceaccount.Config{Client: c.client, Namespaces: c.factory.Core().V1().Namespaces(),
				ServiceAccounts: c.factory.Core().V1().ServiceAccounts(), Logger: c.logger})
		},
		rootcacert.Name: func(c *controllerContext) (starter, error) {
			if len(c.rootCA) == 0 {
				c.logger.Warn("no CA bundle (--root-ca-file): not publishing kube-root-ca.crt")
				return nil, nil
			}
			return rootcacert.New(rootcacert.Config{Client: c.client, Namespaces: c.factory.Core().V1().Namespaces(),
				ConfigMaps: c.factory.Core().V1().ConfigMaps(), RootCA: c.rootCA, Logger: c.logger})
		},
		endpoints.Name: func(c *controllerContext) (starter, error) {
			return endpoints.New(endpoints.Config{Client: c.client, Services: c.factory.Core().V1().Services(), Pods: c.factory.Core().V1().Pods(),
				Endpoints: c.factory.Core().V1().Endpoints(), Logger: c.logger})
		},
		endpointslice.Name: func(c *controllerContext) (starter, error) {
			return endpointslice.New(endpointslice.Config{Client: c.client, Services: c.factory.Core().V1().Services(), Pods: c.factory.Core().V1().Pods(),
				Slices: c.factory.Discovery().V1().EndpointSlices(), Logger: c.logger})
		},
		job.Name: func(c *controllerContext) (starter, error) {
			return job.New(job.Config{Client: c.client, Jobs: c.factory.Batch().V1().Jobs(), Pods: c.factory.Core().V1().Pods(),
				Recorder: c.recorder("job-controller"), Logger: c.logger})
		},
		cronjob.Name: func(c *controllerContext) (starter, error) {
			return cronjob.New(cronjob.Config{Client: c.client, CronJobs: c.factory.Batch().V1().CronJobs(), Jobs: c.factory.Batch().V1().Jobs(),
				Recorder: c.recorder("cronjob-controller"), Logger: c.logger})
		},
		nodeipam.Name: func(c *controllerContext) (starter, error) {
			if !c.opts.AllocateNodeCIDRs {
				return nil, nil
			}
			return nodeipam.New(nodeipam.Config{Client: c.client, Nodes: c.factory.Core().V1().Nodes(), ClusterCIDR: c.opts.ClusterCIDR,
				MaskSize: c.opts.NodeCIDRMaskSize, Recorder: c.recorder("node-ipam-controller"), Logger: c.logger})
		},
		nodelifecycle.Name: func(c *controllerContext) (starter, error) {
			return nodelifecycle.New(nodelifecycle.Config{Client: c.client, Nodes: c.factory.Core().V1().Nodes(),
				Leases: c.factory.Coordination().V1().Leases(), Pods: c.factory.Core().V1().Pods(),
				GracePeriod: c.opts.NodeMonitorGracePeriod, Recorder: c.recorder("node-controller"), Logger: c.logger})
		},
		tainteviction.Name: func(c *controllerContext) (starter, error) {
			return tainteviction.New(tainteviction.Config{Client: c.client, Nodes: c.factory.Core().V1().Nodes(), Pods: c.factory.Core().V1().Pods(),
				Recorder: c.recorder("taint-eviction-controller"), Logger: c.logger})
		},
		podgc.Name: func(c *controllerContext) (starter, error) {
			return podgc.New(podgc.Config{Client: c.client, Nodes: c.factory.Core().V1().Nodes(), Pods: c.factory.Core().V1().Pods(), Logger: c.logger})
		},
		daemonset.Name: func(c *controllerContext) (starter, error) {
			return daemonset.New(daemonset.Config{Client: c.client, DaemonSets: c.factory.Apps().V1().DaemonSets(), Nodes: c.factory.Core().V1().Nodes(),
				Pods: c.factory.Core().V1().Pods(), Recorder: c.recorder("daemonset-controller"), Logger: c.logger})
		},
		statefulset.Name: func(c *controllerContext) (starter, error) {
			return statefulset.New(statefulset.Config{Client: c.client, StatefulSets: c.factory.Apps().V1().StatefulSets(), Pods: c.factory.Core().V1().Pods(),
				Claims: c.factory.Core().V1().PersistentVolumeClaims(), Revisions: c.factory.Apps().V1().ControllerRevisions(),
				Recorder: c.recorder("statefulset-controller"), Logger: c.logger})
		},
		persistentvolume.Name: func(c *controllerContext) (starter, error) {
			return persistentvolume.New(persistentvolume.Config{Client: c.client, Volumes: c.factory.Core().V1().PersistentVolumes(),
				Claims: c.factory.Core().V1().PersistentVolumeClaims(), Classes: c.factory.Storage().V1().StorageClasses(),
				LocalPathDir: c.opts.LocalPathDir, Recorder: c.recorder("persistentvolume-controller"), Logger: c.logger})
		},
		resourcequota.Name: func(c *controllerContext) (starter, error) {
			f := c.factory.Core().V1()
			return resourcequota.New(resourcequota.Config{Client: c.client, Quotas: f.ResourceQuotas(), Pods: f.Pods(), Services: f.Services(),
				ConfigMaps: f.ConfigMaps(), Secrets: f.Secrets(), Claims: f.PersistentVolumeClaims(), ReplicationControllers: f.ReplicationControllers(),
				Logger: c.logger})
		},
		disruption.Name: func(c *controllerContext) (starter, error) {
			apps := c.factory.Apps().V1()
			return disruption.New(disruption.Config{Client: c.client, PodDisruptionBudgets: c.factory.Policy().V1().PodDisruptionBudgets(),
				Pods: c.factory.Core().V1().Pods(), ReplicationControllers: c.factory.Core().V1().ReplicationControllers(),
				ReplicaSets: apps.ReplicaSets(), Deployments: apps.Deployments(), StatefulSets: apps.StatefulSets(),
				Recorder: c.recorder("disruption-controller"), Logger: c.logger})
		},
		deployment.Name: func(c *controllerContext) (starter, error) {
			return deployment.New(deployment.Config{Client: c.client, Deployments: c.factory.Apps().V1().Deployments(),
				ReplicaSets: c.factory.Apps().V1().ReplicaSets(), Recorder: c.recorder("deployment-controller"), Logger: c.logger,
				Workers: c.opts.ConcurrentDeploymentSyncs})
		},
	}
}

func (c *controllerContext) replicaSetConfig(component string) replicaset.Config {
	return replicaset.Config{Client: c.client, Pods: c.factory.Core().V1().Pods(), ReplicaSets: c.factory.Apps().V1().ReplicaSets(),
		ReplicationControllers: c.factory.Core().V1().ReplicationControllers(), Recorder: c.recorder(component), Logger: c.logger,
		Workers: c.opts.ConcurrentReplicaSetSyncs}
}

// KnownControllers are the names --controllers accepts.
func KnownControllers() []string {
	var names []string
	for n := range registry() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
