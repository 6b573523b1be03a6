package testcluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controllers/serviceaccount"
)

// waitUsable polls until every simulated node is Ready and the default namespace has its
// default ServiceAccount, failing early if a component stops.
func (c *Cluster) waitUsable(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ok, why := c.usable(ctx)
		if ok {
			return nil
		}
		if err := c.failedComponent(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not usable: %s: %w", why, ctx.Err())
		case <-t.C:
		}
	}
}

// usable reports whether the cluster is ready for a test, or what it still waits for.
func (c *Cluster) usable(ctx context.Context) (bool, string) {
	nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	ready := map[string]bool{}
	for i := range nodes.Items {
		ready[nodes.Items[i].Name] = nodeReady(&nodes.Items[i])
	}
	for _, n := range c.Nodes() {
		if !ready[n] {
			return false, "node " + n + " not Ready"
		}
	}
	if !c.opts.runs(serviceaccount.Name) {
		return true, ""
	}
	if _, err := c.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return false, "default ServiceAccount: " + err.Error()
	}
	return true, ""
}

func (c *Cluster) failedComponent() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, comp := range c.plane {
		if err := comp.failed(); err != nil {
			return err
		}
	}
	for _, comp := range c.pools {
		if err := comp.failed(); err != nil {
			return err
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
